"""Where a code package (a zip) is kept, and the ConfigMap that keeps a small one. Pure.

``kappa deploy`` and the Lambda API's CreateFunction and UpdateFunctionCode keep it so.

A package that fits in a ConfigMap (``CONFIG_MAP_MAX_BYTES``) goes in one, as a zip
under ``binaryData`` (the Function's ``spec.code.configMap.archive``: the pods unpack
it), marked with its sha256 (``kappa.dev/code-sha256``), which a Function carries too so
that a new zip rolls its pods at once.

A larger one, up to Lambda's 50 MB zipped upload (``PACKAGE_MAX_BYTES``), goes to the
code store (``kappa codestore``) when there is one, and the Function names it by URL
and sha256 (``spec.code.url``: :func:`url_code`). :func:`placement` decides:

    size <= CONFIG_MAP_MAX_BYTES                     CONFIG_MAP
    size <= PACKAGE_MAX_BYTES, a code store          STORE
    otherwise                                        PackageTooLargeError (what to do)
"""

import base64
import hashlib
from enum import Enum
from typing import Any, Final

from kappa.api.names import CODE_SHA256_ANNOTATION, COMPONENT_LABEL, FUNCTION_LABEL

ARCHIVE_KEY: Final = "code.zip"
CONFIG_MAP_MAX_BYTES: Final = 1024 * 1024 - 4096
"""A ConfigMap holds 1 MiB; room is left for its name, labels and annotations."""
PACKAGE_MAX_BYTES: Final = 50 * 1024 * 1024
"""Lambda's limit of a zip uploaded directly (52,428,800 bytes)."""
UNZIPPED_MAX_BYTES: Final = 250 * 1024 * 1024
"""Lambda's limit of a package unzipped (the function pods' agent holds it)."""
PACKAGE_COMPONENT: Final = "package"


class PackageTooLargeError(ValueError):
    """The zip does not fit in a ConfigMap; the message says what to do instead."""


class Placement(Enum):
    """Where a package goes."""

    CONFIG_MAP = "configMap"
    STORE = "store"


def placement(size: int, *, store: bool, no_store: str = "") -> Placement:
    """Where a zip of ``size`` bytes goes; ``store``: whether a code store is there.

    PackageTooLargeError past Lambda's limit, or past a ConfigMap's without a store
    (its message ends with ``no_store``, what to do instead).
    """
    if size <= CONFIG_MAP_MAX_BYTES:
        return Placement.CONFIG_MAP
    if size > PACKAGE_MAX_BYTES:
        msg = (
            f"the package is {size:,} bytes zipped, more than Lambda's {PACKAGE_MAX_BYTES:,} "
            "for a zip uploaded directly"
        )
        raise PackageTooLargeError(msg)
    if not store:
        msg = (
            f"the package is {size:,} bytes zipped, more than a ConfigMap holds "
            f"({CONFIG_MAP_MAX_BYTES:,}) and this installation has no code store"
            + (f": {no_store}" if no_store else "")
        )
        raise PackageTooLargeError(msg)
    return Placement.STORE


def url_code(url: str, archive_sha256: str) -> dict[str, Any]:
    """A Function's ``spec.code`` naming a package by URL (the store's) and sha256."""
    return {"url": {"url": url, "sha256": archive_sha256}}


def package_configmap_name(function: str) -> str:
    """``<function>-package``: one ConfigMap per Function, replaced by each new package."""
    return f"{function}-package"


def package_labels(function: str) -> dict[str, str]:
    """A package ConfigMap's labels.

    Not those of the operator's own code ConfigMaps, which it collects once unused.
    """
    return {FUNCTION_LABEL: function, COMPONENT_LABEL: PACKAGE_COMPONENT}


def archive_configmap(
    name: str,
    namespace: str | None,
    labels: dict[str, str],
    archive: bytes,
    *,
    too_large: str = "upload the zip where the cluster can fetch it and run kappa deploy "
    "again with --code-url URL",
) -> dict[str, Any]:
    """A ConfigMap carrying ``archive``.

    PackageTooLargeError past a ConfigMap's size, saying ``too_large``. ``namespace``
    None: none written (``kubectl apply -n`` decides).
    """
    if len(archive) > CONFIG_MAP_MAX_BYTES:
        msg = (
            f"the package is {len(archive):,} bytes zipped, more than a ConfigMap holds "
            f"({CONFIG_MAP_MAX_BYTES:,}): {too_large}"
        )
        raise PackageTooLargeError(msg)
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    metadata["labels"] = labels
    metadata["annotations"] = {CODE_SHA256_ANNOTATION: hashlib.sha256(archive).hexdigest()}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "binaryData": {ARCHIVE_KEY: base64.b64encode(archive).decode()},
    }
