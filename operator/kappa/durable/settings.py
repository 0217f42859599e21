"""Durable functions' settings, parsed once from the environment.

- ``KAPPA_DURABLE_CACHE_BYTES`` (64 MiB): the folded states each gateway replica keeps
  in memory (an LRU by their size; 0: none kept, every load folds from JetStream);
- ``KAPPA_DURABLE_STATE_MAX_BYTES`` (100 MiB): the most one execution's state may
  hold; a transition past it is refused;
- ``KAPPA_DURABLE_WORKERS`` (64): timers and invocations each gateway replica has in
  hand at once, over every namespace;
- ``KAPPA_DURABLE_ACK_WAIT_SECONDS`` (30): how long a timer or wake in a gateway's hand
  stays its own without news; a gateway that died with one gives it to another replica
  this long after;
- ``KAPPA_ASYNC_PREFIX`` (``kappa``) and ``KAPPA_ASYNC_REPLICAS`` (1): the async queue's,
  read the same way (kappa/asyncq/settings.py): durable state lives in the same NATS,
  under the same prefix, with as many copies.
"""

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from kappa.api.meta import DNS1123_LABEL_PATTERN
from kappa.base.env import EnvReader

MIB: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class DurableSettings:
    """Validated durable settings."""

    prefix: str = "kappa"
    replicas: int = 1
    cache_bytes: int = 64 * MIB
    state_max_bytes: int = 100 * MIB
    workers: int = 64
    ack_wait_seconds: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "DurableSettings":
        """Settings from ``env``; raises SettingsError naming every bad variable."""
        read = EnvReader(env)
        prefix = read.string("KAPPA_ASYNC_PREFIX", "kappa")
        if not re.fullmatch(DNS1123_LABEL_PATTERN, prefix):
            read.problem(f"KAPPA_ASYNC_PREFIX={prefix!r} must be lowercase letters, digits and '-'")
        settings = cls(
            prefix=prefix,
            replicas=read.integer("KAPPA_ASYNC_REPLICAS", 1, lo=1, hi=5),
            cache_bytes=read.integer(
                "KAPPA_DURABLE_CACHE_BYTES", 64 * MIB, lo=0, hi=64 * 1024 * MIB
            ),
            state_max_bytes=read.integer(
                "KAPPA_DURABLE_STATE_MAX_BYTES", 100 * MIB, lo=MIB, hi=1024 * MIB
            ),
            workers=read.integer("KAPPA_DURABLE_WORKERS", 64, lo=1, hi=10_000),
            ack_wait_seconds=read.number("KAPPA_DURABLE_ACK_WAIT_SECONDS", 30.0, lo=1.0, hi=600.0),
        )
        read.done()
        return settings


def load() -> DurableSettings:
    """This process's durable settings."""
    return DurableSettings.from_env(os.environ)
