import asyncio
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kappa.codestore import collector
from kappa.codestore.blobs import Blobs
from kappa.codestore.capability import PackageKey, package_key
from kappa.codestore.garbage import StoredPackage
from kappa.codestore.metrics import CodeStoreMetrics

NOW = 1_000_000.0
GRACE = 3600.0


def _put(blobs: Blobs, namespace: str, data: bytes, at: float) -> PackageKey:
    upload = blobs.new_upload()
    upload.write(data)
    key = package_key(namespace, hashlib.sha256(data).hexdigest())
    asyncio.run(blobs.commit(upload, key, at))
    return key


def _named(namespace: str, key: PackageKey) -> dict[str, Any]:
    return {"metadata": {"namespace": namespace},
            "spec": {"code": {"url": {"url": "http://s/x", "sha256": key.sha256}}}}  # fmt: skip


def test_a_pass_deletes_old_unnamed_packages_only(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path)
    blobs.prepare()
    kept = _put(blobs, "t", b"named", NOW - 2 * GRACE)
    doomed = _put(blobs, "t", b"orphan", NOW - 2 * GRACE)
    fresh = _put(blobs, "t", b"just uploaded", NOW - 5)
    metrics = CodeStoreMetrics()

    async def objects() -> list[Mapping[str, Any]]:
        return [_named("t", kept)]

    deleted = asyncio.run(
        collector.collect(blobs, objects, metrics, grace_seconds=GRACE, clock=lambda: NOW)
    )
    assert deleted is not None
    assert [p.key for p in deleted] == [doomed]
    assert {p.key for p in blobs.list()} == {kept, fresh}
    assert metrics.gc_deletions._value.get() == 1  # noqa: SLF001 - the counter's value
    assert metrics.packages._value.get() == 2  # noqa: SLF001


def test_a_pass_that_cannot_read_the_cluster_deletes_nothing(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path)
    blobs.prepare()
    orphan = _put(blobs, "t", b"orphan", NOW - 2 * GRACE)
    metrics = CodeStoreMetrics()

    async def objects() -> list[Mapping[str, Any]]:
        raise OSError("the API server is away")

    deleted = asyncio.run(
        collector.collect(blobs, objects, metrics, grace_seconds=GRACE, clock=lambda: NOW)
    )
    assert deleted is None
    assert [p.key for p in blobs.list()] == [orphan]
    assert metrics.gc_runs.labels("skipped")._value.get() == 1  # noqa: SLF001


def test_the_loop_outlives_a_pass_the_storage_fails(tmp_path: Path) -> None:
    class Failing(Blobs):
        calls = 0

        def list(self) -> list[StoredPackage]:
            Failing.calls += 1
            if Failing.calls == 1:
                raise OSError("the storage does not answer")
            return super().list()

    blobs = Failing(tmp_path)
    blobs.prepare()
    metrics = CodeStoreMetrics()

    async def objects() -> list[Mapping[str, Any]]:
        return []

    async def two_passes() -> None:
        task = asyncio.create_task(
            collector.run(blobs, objects, metrics, interval_seconds=0.001, grace_seconds=GRACE)
        )
        while metrics.gc_runs.labels("done")._value.get() < 1:  # noqa: SLF001
            await asyncio.sleep(0.001)
        task.cancel()

    asyncio.run(asyncio.wait_for(two_passes(), 30))
    assert metrics.gc_runs.labels("failed")._value.get() == 1  # noqa: SLF001
