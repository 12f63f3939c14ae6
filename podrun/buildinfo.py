"""podrun's version as a Kubernetes version.Info (apimachinery/pkg/version/types.go).

kubectl prints it for `version` (clientVersion) and the daemon serves it at /version
(serverVersion), as kube-apiserver does. podrun's own version stands where Kubernetes' would;
goVersion/compiler name the Python that runs it; no git data is recorded at install time, so
gitCommit, gitTreeState and buildDate are empty.
"""
from __future__ import annotations

import os
import sys

from podrun import __version__

__all__ = ["version_info"]

_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "armv6l": "arm", "i686": "386",
           "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def version_info() -> dict[str, str]:
    """The nine fields of version.Info, in its JSON order."""
    major, minor = (__version__.split(".") + ["0", "0"])[:2]
    uname = os.uname()
    return {
        "major": major,
        "minor": minor,
        "gitVersion": f"v{__version__}",
        "gitCommit": "",
        "gitTreeState": "",
        "buildDate": "",
        "goVersion": "python{}.{}.{}".format(*sys.version_info[:3]),
        "compiler": sys.implementation.name,
        "platform": f"{uname.sysname.lower()}/{_GOARCH.get(uname.machine, uname.machine)}",
    }
