"""The API's certificates: a CA, the server's certificate and the admin's client certificate.

Made with the `cryptography` library on the daemon's first start, under <lib>/pki (0700, keys
0600), as kubeadm makes /etc/kubernetes/pki: an EC P-256 CA (10 years), a server certificate
for 127.0.0.1, ::1 and localhost and a client certificate CN=podrun-admin, O=system:masters
(1 year each, re-issued at a start that finds them missing or within 30 days of expiry).

    ca.crt ca.key  apiserver.crt apiserver.key  admin.crt admin.key

server_ssl_context() is the TLS side: CERT_REQUIRED against this CA, so no request without a
valid client certificate reaches a handler.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from podrun.daemon.kube.kubeconfig import ADMIN_USER
from podrun.paths import Roots

__all__ = ["Pki", "ensure_pki", "server_ssl_context"]

_CA_DAYS, _LEAF_DAYS, _RENEW_DAYS = 3650, 365, 30


@dataclass(frozen=True)
class Pki:
    dir: str

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def read(self, name: str) -> bytes:
        with open(self.path(name), "rb") as f:
            return f.read()


def _write_private(path: str, data: bytes) -> None:
    """0600 from birth (mkstemp), then renamed over: never a readable key, never half a file."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = ([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)] if org else []) + \
        [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    return x509.Name(attrs)


def _issue(subject: x509.Name, key, issuer: x509.Name, issuer_key, days: int, *, ca: bool = False,
           server_names: tuple[str, ...] = (), client: bool = False) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None if not ca else 0), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                          content_commitment=False, key_encipherment=False,
                                          data_encipherment=False, key_agreement=False,
                                          encipher_only=False, decipher_only=False), critical=True)
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False,
                                          key_cert_sign=False, crl_sign=False, content_commitment=False,
                                          data_encipherment=False, key_agreement=False,
                                          encipher_only=False, decipher_only=False), critical=True)
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        b = b.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server_names:
        sans: list[x509.GeneralName] = []
        for n in server_names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                sans.append(x509.DNSName(n))
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _valid(path: str, min_days: int) -> bool:
    try:
        with open(path, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
    except (OSError, ValueError):
        return False
    left = cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)
    return left > datetime.timedelta(days=min_days)


def ensure_pki(roots: Roots) -> tuple[Pki, bool]:
    """Make what is missing or about to expire; (the pki, whether the admin credentials changed)."""
    os.makedirs(roots.pki_dir, mode=0o700, exist_ok=True)
    os.chmod(roots.pki_dir, 0o700)
    pki = Pki(roots.pki_dir)
    renewed = False
    if not (_valid(pki.path("ca.crt"), _RENEW_DAYS) and os.path.exists(pki.path("ca.key"))):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _name("podrun-ca")
        ca = _issue(ca_name, ca_key, ca_name, ca_key, _CA_DAYS, ca=True)
        _write_private(pki.path("ca.key"), _key_pem(ca_key))
        _write_private(pki.path("ca.crt"), ca.public_bytes(serialization.Encoding.PEM))
        for leaf in ("apiserver.crt", "admin.crt"):        # signed by the old CA: re-issue
            if os.path.exists(pki.path(leaf)):
                os.unlink(pki.path(leaf))
    ca = x509.load_pem_x509_certificate(pki.read("ca.crt"))
    ca_key = serialization.load_pem_private_key(pki.read("ca.key"), None)
    leaves = (("apiserver", _name("podrun-apiserver"), {"server_names": ("127.0.0.1", "::1", "localhost")}),
              ("admin", _name(ADMIN_USER, "system:masters"), {"client": True}))
    for base, subject, kw in leaves:
        if _valid(pki.path(base + ".crt"), _RENEW_DAYS) and os.path.exists(pki.path(base + ".key")):
            continue
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _issue(subject, key, ca.subject, ca_key, _LEAF_DAYS, **kw)
        _write_private(pki.path(base + ".key"), _key_pem(key))
        _write_private(pki.path(base + ".crt"), cert.public_bytes(serialization.Encoding.PEM))
        renewed = renewed or base == "admin"
    return pki, renewed


def server_ssl_context(pki: Pki) -> ssl.SSLContext:
    """TLS for the API: the server certificate, and a client certificate signed by our CA required."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=pki.path("ca.crt"))
    ctx.load_cert_chain(pki.path("apiserver.crt"), pki.path("apiserver.key"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx
