"""Where packages are kept, as the server and the collector see it: a volume or a bucket.

Both stage an upload the same way: streamed to a local temporary file while its size and
sha256 are counted (:class:`Upload`), checked against the name it was sent under, then
handed to the storage's ``commit``. Kept packages are listed with their last upload time,
deleted only if not uploaded again since they were listed, and served by ``open``.
"""

import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO, Protocol

from aiohttp import web

from kappa.codestore.capability import PackageKey
from kappa.codestore.garbage import StoredPackage


class StorageError(Exception):
    """The storage did not answer as it should (a bucket's error); the message says how."""


class Upload:
    """One package being written to a temporary file: its size and sha256 so far."""

    def __init__(self, directory: Path) -> None:
        descriptor, name = tempfile.mkstemp(dir=directory, prefix="upload-")
        self.path = Path(name)
        self._file: IO[bytes] = os.fdopen(descriptor, "wb")
        self._hash = hashlib.sha256()
        self.size = 0
        self.kept = False

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``."""
        self._file.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    @property
    def sha256(self) -> str:
        """The hex sha256 of what was written."""
        return self._hash.hexdigest()

    def finish(self) -> None:
        """Flush and fsync the file (blocking: run it in a thread)."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def discard(self) -> None:
        """Remove the temporary file, unless it became a package."""
        if not self._file.closed:
            self._file.close()
        if not self.kept:
            self.path.unlink(missing_ok=True)


class Storage(Protocol):
    """What keeps packages (``kappa.codestore.blobs``: a volume; ``bucket``: S3)."""

    def prepare(self) -> None:
        """Get ready to serve (blocking: run it in a thread)."""
        ...

    def signing_key(self) -> bytes:
        """The key of the capability URLs, made the first time (blocking)."""
        ...

    def new_upload(self) -> Upload:
        """A temporary file to stream an upload into."""
        ...

    async def commit(self, upload: Upload, key: PackageKey, now: float) -> bool:
        """Keep the finished ``upload`` as ``key``, uploaded at ``now``; whether it is new."""
        ...

    async def open(self, key: PackageKey) -> web.StreamResponse | None:
        """The response that serves ``key``'s package; None when there is none."""
        ...

    def list(self) -> list[StoredPackage]:
        """Every package kept (blocking: run it in a thread)."""
        ...

    async def delete_if_unchanged(self, package: StoredPackage) -> bool:
        """Delete ``package`` unless it was uploaded again since it was listed."""
        ...
