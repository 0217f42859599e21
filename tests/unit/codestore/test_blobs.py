import asyncio
import hashlib
from pathlib import Path

import pytest

from kappa.codestore.blobs import Blobs
from kappa.codestore.capability import package_key


def _put(blobs: Blobs, namespace: str, data: bytes, now: float) -> bool:
    upload = blobs.new_upload()
    try:
        upload.write(data)
        return asyncio.run(blobs.commit(upload, package_key(namespace, upload.sha256), now))
    finally:
        upload.discard()


def test_a_committed_upload_is_listed_with_its_size_and_time(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path)
    blobs.prepare()
    assert _put(blobs, "t", b"PK zip", 1000.0)
    [stored] = blobs.list()
    assert stored.key == package_key("t", hashlib.sha256(b"PK zip").hexdigest())
    assert (stored.size, stored.uploaded_at) == (6, 1000.0)
    assert blobs.path(stored.key).read_bytes() == b"PK zip"
    assert list((tmp_path / "tmp").iterdir()) == []


def test_uploading_the_same_bytes_again_renews_the_package(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path)
    blobs.prepare()
    assert _put(blobs, "t", b"same", 1000.0)
    listed = blobs.list()
    assert not _put(blobs, "t", b"same", 2000.0)
    assert not asyncio.run(blobs.delete_if_unchanged(listed[0]))  # planned earlier: kept
    assert blobs.list()[0].uploaded_at == 2000.0
    assert asyncio.run(blobs.delete_if_unchanged(blobs.list()[0]))
    assert blobs.list() == []


def test_a_discarded_upload_leaves_nothing(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path)
    blobs.prepare()
    upload = blobs.new_upload()
    upload.write(b"half")
    upload.discard()
    assert list((tmp_path / "tmp").iterdir()) == []
    assert blobs.list() == []


def test_leftovers_are_cleared_and_strangers_are_not_listed(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path)
    blobs.prepare()
    (tmp_path / "tmp" / "upload-crashed").write_bytes(b"x")
    (tmp_path / "packages" / "t").mkdir()
    (tmp_path / "packages" / "t" / "notes.txt").write_bytes(b"x")
    (tmp_path / "packages" / "UPPER").mkdir()
    blobs.prepare()
    assert list((tmp_path / "tmp").iterdir()) == []
    assert blobs.list() == []


def test_the_signing_key_is_made_once_private_and_kept(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path)
    blobs.prepare()
    first = blobs.signing_key()
    assert len(first) == 32
    assert (tmp_path / "signing-key").stat().st_mode & 0o777 == 0o600
    assert Blobs(tmp_path).signing_key() == first


def test_a_truncated_signing_key_stops_the_store(tmp_path: Path) -> None:
    (tmp_path / "signing-key").write_bytes(b"short")
    with pytest.raises(ValueError, match="fewer than"):
        Blobs(tmp_path).signing_key()
