"""The periodic garbage collection: delete the packages nothing names any more.

Each pass reads every Function and FunctionVersion first, then the volume, and deletes
what ``kappa.codestore.garbage.plan`` gives. A pass that cannot read the cluster deletes
nothing (it is counted as skipped and tried again at the next interval): a package is
only ever deleted on a full picture of what names it. A pass the storage fails is
counted as failed; the loop goes on.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from kappa.codestore.garbage import StoredPackage, plan, referenced
from kappa.codestore.metrics import CodeStoreMetrics
from kappa.codestore.storage import Storage

log = logging.getLogger("kappa.codestore.gc")

ListObjects = Callable[[], Awaitable[list[Mapping[str, Any]]]]


async def collect(
    blobs: Storage,
    objects: ListObjects,
    metrics: CodeStoreMetrics,
    *,
    grace_seconds: float,
    clock: Callable[[], float] = time.time,
) -> list[StoredPackage] | None:
    """One pass: the packages deleted, or None when the cluster could not be read."""
    try:
        named = referenced(await objects())
    except Exception as exc:  # noqa: BLE001 - any failure to read means: delete nothing
        metrics.gc_runs.labels("skipped").inc()
        log.warning("garbage collection skipped: the cluster could not be read (%s)", exc)
        return None
    stored = await asyncio.to_thread(blobs.list)
    deleted: list[StoredPackage] = []
    for package in plan(stored, named, now=clock(), grace_seconds=grace_seconds):
        if await blobs.delete_if_unchanged(package):
            deleted.append(package)
            metrics.gc_deletions.inc()
            metrics.gc_deleted_bytes.inc(package.size)
            log.info("deleted package %s/%s (%d bytes): nothing names it",
                     package.key.namespace, package.key.sha256, package.size)  # fmt: skip
    metrics.count(await asyncio.to_thread(blobs.list))
    metrics.gc_runs.labels("done").inc()
    return deleted


async def run(
    blobs: Storage,
    objects: ListObjects,
    metrics: CodeStoreMetrics,
    *,
    interval_seconds: float,
    grace_seconds: float,
) -> None:
    """A pass every ``interval_seconds``, until cancelled.

    A pass that fails on the storage's side (a bucket that does not answer) is counted
    as failed and logged; the next one runs at its time.
    """
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            await collect(blobs, objects, metrics, grace_seconds=grace_seconds)
        except Exception:
            metrics.gc_runs.labels("failed").inc()
            log.exception("garbage collection failed; trying again in %s s", interval_seconds)
