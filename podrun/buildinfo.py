"""podrun's version as a Kubernetes version.Info (apimachinery/pkg/version/types.go).

kubectl prints it for `version` (clientVersion) and the daemon serves it at /version
(serverVersion), as kube-apiserver does. podrun speaks Kubernetes 1.32's API, so major/minor are
"1"/"32" (stock kubectl here picks its bundled 1.32 client from the server's minor) and
gitVersion is v1.32.0 with podrun's own version as semver build metadata, as k3s does
(`v1.32.0+podrun.0.1.0`); goVersion/compiler name the Python that runs it; no git data is
recorded at install time, so gitCommit, gitTreeState and buildDate are empty.
"""
from __future__ import annotations

import os
import sys

from podrun import __version__

__all__ = ["version_info", "KUBERNETES_VERSION"]

KUBERNETES_VERSION = "1.32.0"

_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "armv6l": "arm", "i686": "386",
           "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def version_info() -> dict[str, str]:
    """The nine fields of version.Info, in its JSON order."""
    major, minor, _ = KUBERNETES_VERSION.split(".")
    uname = os.uname()
    return {
        "major": major,
        "minor": minor,
        "gitVersion": f"v{KUBERNETES_VERSION}+podrun.{__version__}",
        "gitCommit": "",
        "gitTreeState": "",
        "buildDate": "",
        "goVersion": "python{}.{}.{}".format(*sys.version_info[:3]),
        "compiler": sys.implementation.name,
        "platform": f"{uname.sysname.lower()}/{_GOARCH.get(uname.machine, uname.machine)}",
    }
