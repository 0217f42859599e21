"""The function's code archive: fetch ``KAPPA_CODE_URL``, check its sha256, unzip it.

The archive comes from a URL the function's author chose, so it is untrusted:
no member may land outside the task root (absolute names, ``..``, symlinks
pointing out, writing through a symlink), and the unpacked size is capped at
Lambda's 250 MB. The path checks are pure functions; the rest is I/O, run by
the agent in a thread before the runtimes start.
"""

import hashlib
import os
import shutil
import stat
import tempfile
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Final, Protocol

from kappa.agent.errors import LambdaError
from kappa.base.code_paths import FILE_URLS

# Lambda's limits: 250 MB unzipped; a URL archive is held to the same (a zip uploaded
# directly is at most 50 MB, which the gateway and the code store hold it to; one at a
# URL is as Lambda's from S3, bounded by what it unpacks to). Both caps count the bytes
# actually read or written, never what a zip's headers declare.
MAX_UNZIPPED_BYTES: Final = 250 * 1024 * 1024
MAX_ARCHIVE_BYTES: Final = 250 * 1024 * 1024
# Entries (files, directories, links) of one archive: as many as a code image's copy takes
# (runtime-images/base/copy-code.c), so a zip of millions of empty members cannot fill
# the volume's inodes.
MAX_ENTRIES: Final = 100_000
FETCH_TIMEOUT_SECONDS: Final = 60.0
_CHUNK: Final = 1024 * 1024


class CodeError(Exception):
    """The code could not be put in place; carries the init error to report."""

    def __init__(self, error: LambdaError) -> None:
        super().__init__(f"{error.error_type}: {error.message}")
        self.error = error


class _Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def _copy_capped(
    source: _Readable,
    write: Callable[[bytes], object],
    *,
    total: int,
    cap: int,
    too_large: str,
) -> int:
    """Copy ``source`` to ``write`` in chunks; return ``total`` plus the bytes copied.

    Raises CodeError with ``Kappa.CodeTooLarge`` (message ``too_large``) once
    that sum passes ``cap``: an untrusted archive may be endless.
    """
    while chunk := source.read(_CHUNK):
        total += len(chunk)
        if total > cap:
            raise CodeError(LambdaError("Kappa.CodeTooLarge", too_large))
        write(chunk)
    return total


class UnsafeMemberError(ValueError):
    """An archive member would land outside the task root."""


def member_path(name: str) -> PurePosixPath:
    """The relative path a zip member unpacks to; raises UnsafeMemberError if it would escape."""
    if "\\" in name or "\x00" in name:
        raise UnsafeMemberError(f"{name!r}: backslashes and NULs are not allowed in member names")
    path = PurePosixPath(name)
    if path.is_absolute() or not path.parts:
        raise UnsafeMemberError(f"{name!r}: absolute or empty member name")
    if any(part == ".." for part in path.parts):
        raise UnsafeMemberError(f"{name!r}: '..' in member name")
    if path.parts[0].endswith(":"):
        raise UnsafeMemberError(f"{name!r}: drive-like first component")
    return path


def symlink_stays_inside(link: PurePosixPath, target: str) -> bool:
    """Whether a symlink at ``link`` (relative to the root) pointing to ``target`` stays inside."""
    if not target or target.startswith("/") or "\x00" in target:
        return False
    depth = len(link.parts) - 1  # directories above the link, inside the root
    for part in PurePosixPath(target).parts:
        if part == "..":
            depth -= 1
            if depth < 0:
                return False
        elif part != ".":
            depth += 1
    return True


def file_mode(external_attr: int) -> int:
    """Permissions for an unpacked file: readable; executable if the archive says so; nothing else.

    Zips made on Unix carry the mode in the high 16 bits (a ``bootstrap``
    needs its x bits); set-id and write bits are never kept: the code is read-only,
    as Lambda's ``/var/task`` is (a write there fails instead of changing the code).
    """
    mode = (external_attr >> 16) & 0o777
    return 0o555 if mode & 0o111 else 0o444


DIRECTORY_MODE: Final = 0o555


def is_symlink(external_attr: int) -> bool:
    """Whether a member is a symlink (its target is the member's content)."""
    return stat.S_ISLNK(external_attr >> 16)


def fetch(url: str, destination: Path) -> bytes:
    """Download ``url`` to ``destination``; return its sha256 digest.

    http(s), or a ``file://`` URL where the pod mounts a ConfigMap's archive.
    """
    if not url.startswith(("http://", "https://")) and url not in FILE_URLS:
        raise CodeError(LambdaError("Kappa.CodeFetchFailed", f"unsupported code URL {url!r}"))
    digest = hashlib.sha256()
    try:
        with (
            urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response,  # noqa: S310 - scheme checked above
            destination.open("wb") as out,
        ):

            def write(chunk: bytes) -> None:
                digest.update(chunk)
                out.write(chunk)

            _copy_capped(
                response,
                write,
                total=0,
                cap=MAX_ARCHIVE_BYTES,
                too_large=f"code archive over {MAX_ARCHIVE_BYTES} bytes",
            )
    except OSError as exc:  # URLError and HTTPError are OSErrors
        raise CodeError(LambdaError("Kappa.CodeFetchFailed", f"fetching {url}: {exc}")) from exc
    return digest.digest()


def unpack(archive: Path, root: Path, *, layered: bool = False) -> int:
    """Unzip ``archive`` into ``root`` safely; return the number of files written.

    ``layered``: one of several archives unpacked into ``root`` in turn (Lambda's
    layers): a file an earlier one wrote is replaced, and the directories are left
    writable until :func:`seal`. Every failure is a CodeError ``Kappa.CodeArchiveInvalid``
    saying what was wrong (the agent reports it and the Function's status shows it),
    never another exception.
    """
    try:
        with zipfile.ZipFile(archive) as zipped:
            written = _unpack_members(zipped, root, replace=layered)
    except zipfile.BadZipFile as exc:
        raise CodeError(
            LambdaError("Kappa.CodeArchiveInvalid", f"not a zip archive: {exc}")
        ) from exc
    except UnsafeMemberError as exc:
        raise CodeError(LambdaError("Kappa.CodeArchiveInvalid", str(exc))) from exc
    except FileExistsError as exc:
        raise CodeError(
            LambdaError("Kappa.CodeArchiveInvalid", f"{exc.filename}: two members of that name")
        ) from exc
    except (OSError, RuntimeError, NotImplementedError, EOFError, zlib.error) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown compression.
        raise CodeError(
            LambdaError("Kappa.CodeArchiveInvalid", f"cannot unpack the archive: {exc}")
        ) from exc
    if not layered:
        seal(root)
    return written


def _unpack_members(zipped: zipfile.ZipFile, root: Path, *, replace: bool) -> int:
    members = zipped.infolist()
    if len(members) > MAX_ENTRIES:
        msg = f"code archive has {len(members):,} entries, more than {MAX_ENTRIES:,}"
        raise CodeError(LambdaError("Kappa.CodeTooLarge", msg))
    root = root.resolve()
    written = 0
    total = 0
    for info in members:
        relative = member_path(info.filename)
        target = root.joinpath(*relative.parts)
        _no_symlink_on_the_way(root, relative, info.filename)  # before anything is created
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.parent.resolve().is_relative_to(root):
            raise UnsafeMemberError(f"{info.filename!r}: its directory leads outside the code root")
        if replace and (target.is_symlink() or target.is_file()):
            target.unlink()  # a later layer wins, as in Lambda
        if is_symlink(info.external_attr):
            link_target = zipped.read(info).decode("utf-8", "replace")
            if not symlink_stays_inside(relative, link_target):
                raise UnsafeMemberError(
                    f"{info.filename!r}: symlink to {link_target!r} leaves the root"
                )
            target.symlink_to(link_target)
            continue
        if target.is_symlink():  # O_EXCL refuses it too; this says why
            raise UnsafeMemberError(
                f"{info.filename!r}: a symlink of that name is unpacked before it; "
                "writing through a symlink is refused"
            )
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        with zipped.open(info) as source, os.fdopen(os.open(target, flags, 0o600), "wb") as out:
            total = _copy_capped(
                source,
                out.write,
                total=total,
                cap=MAX_UNZIPPED_BYTES,
                too_large=f"code unpacks to over {MAX_UNZIPPED_BYTES} bytes",
            )
        target.chmod(file_mode(info.external_attr))
        written += 1
    return written


def seal(root: Path) -> None:
    """Make the directories unpacked under ``root`` read-only (deepest first).

    ``root`` itself is the volume's mount point, which belongs to the node, not to us.
    """
    for here, directories, _ in os.walk(root, topdown=False):
        for name in directories:
            path = Path(here, name)
            if not path.is_symlink():
                path.chmod(DIRECTORY_MODE)


def _no_symlink_on_the_way(root: Path, relative: PurePosixPath, name: str) -> None:
    """Refuse a member whose directories pass through a symlink unpacked before it.

    Checked before any directory is made: ``mkdir(parents=True)`` follows symlinks, so a
    chain such as ``d/l -> ..`` then ``d/l/../x/`` would create directories outside.
    """
    here = root
    for part in relative.parts[:-1]:
        here = here / part
        if here.is_symlink():
            raise UnsafeMemberError(f"{name!r}: its directory {part!r} is a symlink in the archive")


def install(url: str, expected_sha256: bytes, root: Path) -> int:
    """Fetch, check and unpack the code into ``root``; return the number of files.

    Raises CodeError with ``Kappa.CodeChecksumMismatch`` when the digest differs.
    """
    scratch = Path(tempfile.mkdtemp(prefix="kappa-code-"))
    try:
        archive = scratch / "code.zip"
        digest = fetch(url, archive)
        if digest != expected_sha256:
            raise CodeError(
                LambdaError(
                    "Kappa.CodeChecksumMismatch",
                    f"code archive sha256 is {digest.hex()}, expected {expected_sha256.hex()}",
                )
            )
        root.mkdir(parents=True, exist_ok=True)
        return unpack(archive, root)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def install_layers(layers: Sequence[tuple[str, bytes]], root: Path) -> int:
    """Fetch, check and unpack each layer into ``root`` in order; return the files written.

    A later layer's file replaces an earlier one's; ``root`` is sealed once all are in.
    """
    written = 0
    scratch = Path(tempfile.mkdtemp(prefix="kappa-layers-"))
    try:
        root.mkdir(parents=True, exist_ok=True)
        for index, (url, expected) in enumerate(layers):
            archive = scratch / f"layer-{index}.zip"
            digest = fetch(url, archive)
            if digest != expected:
                msg = f"layer {index} sha256 is {digest.hex()}, expected {expected.hex()}"
                raise CodeError(LambdaError("Kappa.CodeChecksumMismatch", msg))
            written += unpack(archive, root, layered=True)
            archive.unlink()
        seal(root)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return written
