"""Handlers of the concurrent runtime's tests (perRuntime over 1)."""

import asyncio
import logging
import os
import time

logger = logging.getLogger()
logger.setLevel(logging.INFO)
# Module state all calls of one process share: what "shared globals" means for a handler.
CALLS = {"count": 0}


async def nap(event, context):
    """Sleeps event["seconds"] (0.1 by default) without blocking the loop; says when it ran."""
    CALLS["count"] += 1
    start = time.time()
    logger.info("nap starts")
    await asyncio.sleep(event.get("seconds", 0.1))
    return {
        "start": start,
        "end": time.time(),
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "pid": os.getpid(),
        "calls": CALLS["count"],
    }


async def fail(event, context):
    logger.info("about to fail")
    raise ValueError(f"bad event {event.get('n')}")


def sync_pid(event, context):
    """A plain handler: awslambdaric's own multi-concurrency mode runs it, a process per call."""
    time.sleep(event.get("seconds", 0))
    return {"pid": os.getpid(), "parent": os.getppid()}
