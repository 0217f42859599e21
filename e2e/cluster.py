"""What an e2e test knows about the cluster it runs on, and small waiting helpers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Cluster:
    kubeconfig: Path
    provider: Literal["local", "external"]
    repo: Path

    @property
    def is_local(self) -> bool:
        return self.provider == "local"

    @staticmethod
    def wait(probe: Callable[[], T], what: str, timeout: float, interval: float = 0.25) -> T:
        """Poll `probe` until it returns something truthy; fail saying what never happened."""
        deadline = time.monotonic() + timeout
        last: T | None = None
        while time.monotonic() < deadline:
            last = probe()
            if last:
                return last
            time.sleep(interval)
        msg = f"timed out after {timeout}s waiting for {what} (last: {last!r})"
        raise TimeoutError(msg)
