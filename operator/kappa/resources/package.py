"""A code package (a zip) kept in a ConfigMap. Pure.

``kappa deploy`` and the Lambda API's CreateFunction and UpdateFunctionCode keep it so.

A package that fits in a ConfigMap (``CONFIG_MAP_MAX_BYTES``) goes in one, as a zip
under ``binaryData`` (the Function's ``spec.code.configMap.archive``: the pods unpack
it), marked with its sha256 (``kappa.dev/code-sha256``), which a Function carries too so
that a new zip rolls its pods at once.
"""

import base64
import hashlib
from typing import Any, Final

from kappa.api.names import CODE_SHA256_ANNOTATION, COMPONENT_LABEL, FUNCTION_LABEL

ARCHIVE_KEY: Final = "code.zip"
CONFIG_MAP_MAX_BYTES: Final = 1024 * 1024 - 4096
"""A ConfigMap holds 1 MiB; room is left for its name, labels and annotations."""
PACKAGE_COMPONENT: Final = "package"


class PackageTooLargeError(ValueError):
    """The zip does not fit in a ConfigMap; the message says what to do instead."""


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
