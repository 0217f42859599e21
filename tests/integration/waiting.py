"""Waiting for the event that proves a behaviour: the one poll loop of the integration tests.

A test waits for a condition, never a fixed time; the deadline only ends a test that would
otherwise hang, so it is generous (a loaded machine is slow, not wrong).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

HANG_GUARD = 30.0  # seconds


def wait_until(
    check: Callable[[], Any], timeout: float = HANG_GUARD, what: str = "condition"
) -> Any:
    """``check()``'s first truthy value; fails saying ``what`` never came within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
