"""Which package a request names, and the signed URL that lets a function pod read it. Pure.

A package is named by its namespace and the sha256 of its bytes. Reading one needs
no token (a function pod may have none) but a capability: the URL the store gives the
uploader carries ``sig``, an HMAC-SHA256 (the store's own key) of the namespace and the
sha256, so only who can read the Function's spec can read its package, and a package
of namespace A is not readable under namespace B's path (the signature covers both).
"""

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Final

SHA256_PATTERN: Final = re.compile(r"[0-9a-f]{64}")
# A namespace is a DNS-1123 label: lowercase, digits and '-', at most 63 characters.
NAMESPACE_PATTERN: Final = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
SIGNATURE_PATTERN: Final = re.compile(r"[0-9a-f]{64}")
KEY_BYTES: Final = 32
PACKAGES_PATH: Final = "/v1/packages"


class BadPackageNameError(ValueError):
    """A namespace or sha256 that names no package (the message says which)."""


@dataclass(frozen=True, order=True)
class PackageKey:
    """One package: its namespace and the sha256 (lowercase hex) of its bytes."""

    namespace: str
    sha256: str


def package_key(namespace: str, sha256: str) -> PackageKey:
    """The key of ``namespace``/``sha256``; BadPackageNameError when either is malformed.

    Both become a directory and a file name on the store's volume, so nothing but these
    exact shapes passes (no ``..``, no ``/``, no upper case, no NUL).
    """
    if not NAMESPACE_PATTERN.fullmatch(namespace):
        msg = f"{namespace[:80]!r} is not a namespace (a DNS-1123 label)"
        raise BadPackageNameError(msg)
    if not SHA256_PATTERN.fullmatch(sha256):
        msg = f"{sha256[:80]!r} is not a sha256 (64 lowercase hexadecimal digits)"
        raise BadPackageNameError(msg)
    return PackageKey(namespace, sha256)


def signature(key: bytes, package: PackageKey) -> str:
    """The capability to read ``package``: hex HMAC-SHA256 of its namespace and sha256."""
    message = f"kappa-codestore/v1\n{package.namespace}\n{package.sha256}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signature_valid(key: bytes, package: PackageKey, given: str | None) -> bool:
    """Whether ``given`` is the capability of ``package`` (compared in constant time)."""
    if given is None or not SIGNATURE_PATTERN.fullmatch(given):
        return False
    return hmac.compare_digest(signature(key, package), given)


def package_path(package: PackageKey) -> str:
    """The path of ``package`` on the store's HTTP API."""
    return f"{PACKAGES_PATH}/{package.namespace}/{package.sha256}"


def package_url(base_url: str, key: bytes, package: PackageKey) -> str:
    """The URL a function pod fetches ``package`` by: the store's base URL, path and ``sig``."""
    return f"{base_url.rstrip('/')}{package_path(package)}?sig={signature(key, package)}"
