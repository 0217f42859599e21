"""The packages on the store's volume: written whole or not at all, listed, deleted.

Layout under the root (a PersistentVolume)::

    signing-key                   the key of the capability URLs (made on first start)
    packages/<namespace>/<sha256> one package; its mtime is its last upload
    tmp/                          uploads being written (emptied at start)

An upload is streamed to a file in ``tmp/`` while its sha256 is computed, then flushed
to disk (``fsync``), checked against the name it was sent under, and renamed into
place, so a package under ``packages/`` is always whole and has the bytes its name
says. Renaming and deleting happen between two awaits of the one event loop, with the
collector's deletion checking the upload time it planned with, so an upload of the
same package renews it instead of losing it.
"""

import asyncio
import contextlib
import os
import secrets
from pathlib import Path
from typing import Final

from aiohttp import web

from kappa.codestore.capability import (
    KEY_BYTES,
    NAMESPACE_PATTERN,
    SHA256_PATTERN,
    BadPackageNameError,
    PackageKey,
    package_key,
)
from kappa.codestore.garbage import StoredPackage
from kappa.codestore.storage import Upload

KEY_FILE: Final = "signing-key"
PACKAGES: Final = "packages"
TMP: Final = "tmp"


class Blobs:
    """The packages under ``root`` (a ``storage.Storage``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._packages = root / PACKAGES
        self._tmp = root / TMP

    def prepare(self) -> None:
        """Make the directories; remove uploads a stopped process left half-written."""
        self._packages.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)
        for leftover in self._tmp.iterdir():
            leftover.unlink(missing_ok=True)

    def signing_key(self) -> bytes:
        """The key of the capability URLs, made (random, mode 0600) the first time.

        It lives on the volume with the packages: a new volume has neither.
        """
        path = self.root / KEY_FILE
        with contextlib.suppress(FileExistsError):
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(secrets.token_bytes(KEY_BYTES))
                out.flush()
                os.fsync(out.fileno())
        key = path.read_bytes()
        if len(key) < KEY_BYTES:
            msg = f"{path} holds {len(key)} bytes, fewer than a signing key's {KEY_BYTES}"
            raise ValueError(msg)
        return key

    def path(self, key: PackageKey) -> Path:
        """Where ``key``'s package is (whether or not it exists)."""
        return self._packages / key.namespace / key.sha256

    def new_upload(self) -> Upload:
        """A temporary file to stream an upload into."""
        return Upload(self._tmp)

    async def commit(self, upload: Upload, key: PackageKey, now: float) -> bool:
        """Put the finished ``upload`` in place as ``key``, uploaded at ``now``.

        Whether the package is new (False: the same bytes were there and are renewed).
        The rename and the new time happen with no await between them and the collector's
        check-and-delete (:meth:`delete_if_unchanged`, which awaits nothing either).
        """
        await asyncio.to_thread(upload.finish)
        target = self.path(key)
        target.parent.mkdir(exist_ok=True)
        existed = target.exists()
        upload.path.replace(target)
        upload.kept = True
        os.utime(target, (now, now))
        await asyncio.to_thread(self._sync_directory, key)
        return not existed

    async def open(self, key: PackageKey) -> web.StreamResponse | None:
        """The file's response (aiohttp sends it with sendfile); None when there is none."""
        path = self.path(key)
        if not path.is_file():
            return None
        return web.FileResponse(path, headers={"Content-Type": "application/zip"})

    def _sync_directory(self, key: PackageKey) -> None:
        """Fsync the directory of ``key``'s package, so its rename survives a crash."""
        descriptor = os.open(self.path(key).parent, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def stat(self, key: PackageKey) -> StoredPackage | None:
        """``key``'s package, or None when there is none."""
        try:
            info = self.path(key).stat()
        except FileNotFoundError:
            return None
        return StoredPackage(key, info.st_size, info.st_mtime)

    def list(self) -> list[StoredPackage]:
        """Every package on the volume (anything else in ``packages/`` is left alone)."""
        found: list[StoredPackage] = []
        for directory in sorted(self._packages.iterdir()):
            if not directory.is_dir() or not NAMESPACE_PATTERN.fullmatch(directory.name):
                continue
            for file in sorted(directory.iterdir()):
                if not SHA256_PATTERN.fullmatch(file.name):
                    continue
                try:
                    key = package_key(directory.name, file.name)
                    info = file.stat()
                except (BadPackageNameError, FileNotFoundError):
                    continue
                found.append(StoredPackage(key, info.st_size, info.st_mtime))
        return found

    async def delete_if_unchanged(self, package: StoredPackage) -> bool:
        """Delete ``package`` if it has not been uploaded again since it was listed."""
        current = self.stat(package.key)
        if current is None or current.uploaded_at != package.uploaded_at:
            return False
        self.path(package.key).unlink(missing_ok=True)
        return True
