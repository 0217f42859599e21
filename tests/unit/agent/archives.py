"""Zip archives for the code archive's tests (unit and the agent's integration tests)."""

import warnings
import zipfile
from pathlib import Path


def make_zip(path: Path, members: list[tuple[str, bytes, int]]) -> Path:
    """Write ``path``: a zip of (name, content, st_mode) members, duplicates allowed."""
    with zipfile.ZipFile(path, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are one of the attacks
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            archive.writestr(info, data)
    return path
