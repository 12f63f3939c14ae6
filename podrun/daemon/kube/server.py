"""The API's second listener: HTTPS on 127.0.0.1:6443 with client certificates, for kubectl
and the `kubernetes` Python client. Same app as the unix socket, so one API.

    PODRUN_API_PORT     6443 by default; `off` or `0` serves the unix socket only
    PODRUN_API_ADDRESS  127.0.0.1 by default
    PODRUN_API_INSECURE=1  plain HTTP without authentication: an explicit opt-in for tests only

At start the certificates are made if missing (pki.py) and <lib>/kubeconfig is written for the
port in use. A port already taken is logged and the daemon goes on with the unix socket.
"""
from __future__ import annotations

import logging
import os

from aiohttp import web

from podrun.daemon.kube import kubeconfig, pki
from podrun.errors import PodrunError
from podrun.paths import Roots

__all__ = ["DEFAULT_PORT", "api_port", "start"]

log = logging.getLogger("podrun.daemon")
DEFAULT_PORT = 6443


def api_port(env: dict | None = None) -> int | None:
    """The configured port, or None when the HTTPS API is off."""
    value = (env if env is not None else os.environ).get("PODRUN_API_PORT", "").strip().lower()
    if not value:
        return DEFAULT_PORT
    if value in ("off", "0", "false", "no"):
        return None
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise PodrunError(f"PODRUN_API_PORT={value}: not a port number (1-65535, or off)")
    return int(value)


def _url(scheme: str, address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"{scheme}://{host}:{port}"


async def start(runner: web.AppRunner, roots: Roots) -> web.TCPSite | None:
    port = api_port()
    if port is None:
        return None
    address = os.environ.get("PODRUN_API_ADDRESS", "127.0.0.1")
    insecure = os.environ.get("PODRUN_API_INSECURE") == "1"
    certs, _ = pki.ensure_pki(roots)
    ssl_ctx = None if insecure else pki.server_ssl_context(certs)
    site = web.TCPSite(runner, address, port, ssl_context=ssl_ctx, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        log.error("the HTTPS API cannot listen on %s:%d: %s; serving the unix socket only",
                  address, port, exc)
        return None
    url = _url("http" if insecure else "https", address, port)
    kubeconfig.write(roots, certs, url)
    log.info("podrun API serving on %s%s (kubeconfig %s)", url,
             " WITHOUT authentication (PODRUN_API_INSECURE=1)" if insecure else "", roots.kubeconfig)
    return site
