"""Image references, normalised as Docker does (distribution/reference `ParseNormalizedNamed`).

`busybox` -> `docker.io/library/busybox:latest`; a first component with '.' or ':' or equal to
`localhost` is a registry host; `name@sha256:<hex>` names an image by ID.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from podrun.errors import ImageError, NotFound

__all__ = ["DEFAULT_DOMAIN", "Reference", "InvalidReference", "parse_reference", "normalize", "familiar",
           "split_tag", "tag_matcher"]

DEFAULT_DOMAIN = "docker.io"
OFFICIAL_PREFIX = "library/"

# distribution/reference regexp.go
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_DOMAIN = re.compile(r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?")


class InvalidReference(NotFound, ImageError):
    """A reference Docker would refuse ("invalid reference format").

    Also a NotFound: whoever waits for an image (ErrImagePull) treats it as not pullable."""


@dataclass(frozen=True)
class Reference:
    domain: str                 # docker.io, habor-repo.com, localhost:5000
    path: str                   # library/busybox
    tag: str | None = None
    digest: str | None = None   # sha256:<hex>

    @property
    def name(self) -> str:
        """The repository: docker.io/library/busybox."""
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s


def parse_reference(text: str) -> Reference:
    """Docker's ParseNormalizedNamed + TagNameOnly: the tag defaults to latest without a digest."""
    raw = text
    if not text or text != text.strip():
        raise InvalidReference(f'invalid reference format: "{raw}"')
    name, _, digest = text.partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        raise InvalidReference(f'invalid reference format: "{raw}": bad digest "{digest}"')
    tag = None
    colon, slash = name.rfind(":"), name.rfind("/")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _TAG.fullmatch(tag):
            raise InvalidReference(f'invalid reference format: "{raw}": bad tag "{tag}"')
    first, sep, rest = name.partition("/")
    # distribution/reference normalize.go splitDockerDomain
    if sep and (("." in first or ":" in first) or first == "localhost" or first.lower() != first):
        if not _DOMAIN.fullmatch(first):
            raise InvalidReference(f'invalid reference format: "{raw}": bad registry "{first}"')
        domain, path = first, rest
    else:
        domain, path = DEFAULT_DOMAIN, name
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_PREFIX + path
    if any(c != c.lower() for c in path):
        raise InvalidReference(f'invalid reference format: repository name "{path}" must be lowercase')
    if not path or not all(_COMPONENT.fullmatch(c) for c in path.split("/")):
        raise InvalidReference(f'invalid reference format: "{raw}"')
    if tag is None and not digest:
        tag = "latest"
    return Reference(domain, path, tag, digest or None)


def normalize(text: str) -> str:
    """`busybox` -> `docker.io/library/busybox:latest`."""
    return str(parse_reference(text))


def familiar(name: str) -> str:
    """How Docker shows a repository or reference: docker.io/library/busybox:1.35 -> busybox:1.35."""
    if not name.startswith(DEFAULT_DOMAIN + "/"):
        return name
    rest = name[len(DEFAULT_DOMAIN) + 1:]
    if rest.startswith(OFFICIAL_PREFIX) and "/" not in rest[len(OFFICIAL_PREFIX):]:
        return rest[len(OFFICIAL_PREFIX):]
    return rest


def split_tag(ref: str) -> tuple[str, str]:
    """docker.io/library/busybox:1.35 -> (docker.io/library/busybox, 1.35)."""
    colon = ref.rfind(":")
    if colon > ref.rfind("/"):
        return ref[:colon], ref[colon + 1:]
    return ref, ""


def tag_matcher(reference: str) -> Callable[[str], bool]:
    """`docker images REFERENCE`: `busybox` matches every tag of the repository, `busybox:1.35`
    that tag only."""
    ref = parse_reference(reference)
    if ":" in reference.rpartition("/")[2]:
        return lambda tag: tag == str(ref)
    return lambda tag: split_tag(tag)[0] == ref.name
