"""A ``StateStore`` in a JSON file (``kappa poller --state FILE``)."""

import json
from pathlib import Path


class FileStateStore:
    """State kept in a JSON file (``--state FILE``)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def _read(self) -> dict[str, str]:
        if not self._path.exists():
            return {}
        loaded = json.loads(self._path.read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in loaded.items()}

    async def load(self, key: str) -> str | None:
        """The value under ``key``."""
        return self._read().get(key)

    async def save(self, key: str, value: str) -> None:
        """Write the file anew (atomically: rename)."""
        data = self._read()
        data[key] = value
        scratch = self._path.with_suffix(".tmp")
        scratch.write_text(json.dumps(data), encoding="utf-8")
        scratch.replace(self._path)
