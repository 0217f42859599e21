"""Where a function pod holds code archives that came in ConfigMaps, and its layers.

The operator mounts a ConfigMap's archive key at ``ARCHIVE_PATH`` (the function's code)
or at ``layer_archive_path(i)`` (its i-th layer) and hands the agent the matching
``file://`` URLs; the agent fetches those URLs beside http(s) and no other file, so a
zip stored in a ConfigMap is checked and unpacked as a URL archive is. Layers unpack
into ``OPT_ROOT`` in order, as Lambda's do.
"""

from typing import Final

ARCHIVE_DIR: Final = "/var/kappa/archive"
ARCHIVE_FILE: Final = "code.zip"
ARCHIVE_PATH: Final = f"{ARCHIVE_DIR}/{ARCHIVE_FILE}"
ARCHIVE_URL: Final = f"file://{ARCHIVE_PATH}"
LAYERS_DIR: Final = "/var/kappa/layers"
MAX_LAYERS: Final = 5
"""Lambda's limit of layers per function."""
OPT_ROOT: Final = "/opt"


def layer_archive_dir(index: int) -> str:
    """Where the ``index``-th layer's ConfigMap key is mounted."""
    return f"{LAYERS_DIR}/{index}"


def layer_archive_url(index: int) -> str:
    """The ``file://`` URL of the ``index``-th layer's archive in the pod."""
    return f"file://{layer_archive_dir(index)}/{ARCHIVE_FILE}"


FILE_URLS: Final = frozenset({ARCHIVE_URL, *(layer_archive_url(i) for i in range(MAX_LAYERS))})
"""The only ``file://`` URLs the agent fetches."""
