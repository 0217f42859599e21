"""The operator's key for pool pods' tokens: a Secret in the operator's namespace.

A pool pod keeps only the SHA-256 of its token (``kappa.resources.pool_pod``); the token
is HMAC-SHA256 of the pod's namespace and name under this key, so the operator (every
replica, after any restart) can claim every pool pod, and whoever may read pods cannot.
The Secret is made by the first operator that needs it; deleting it makes a new key, and
pool pods made under the old one are then not claimed: a claim is refused (401), the pod
deleted, and the pool makes new ones.
"""

import asyncio
import secrets
from typing import Final

from kappa.k8s.objects import Objects

SECRET: Final = "kappa-pool-key"  # noqa: S105 - the Secret's name
FIELD: Final = "key"
KEY_BYTES: Final = 32
MIN_KEY_BYTES: Final = 16  # a key someone put there by hand: at least 128 bits


class PoolKey:
    """The key, read (or made) once, then kept."""

    def __init__(self, objects: Objects, namespace: str) -> None:
        self._objects = objects
        self._namespace = namespace
        self._key: bytes | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> bytes:
        """The key; ApiException or ValueError when it cannot be read or made now."""
        async with self._lock:
            if self._key is None:
                key = await self._objects.kept_secret(
                    self._namespace, SECRET, FIELD, secrets.token_bytes(KEY_BYTES)
                )
                if len(key) < MIN_KEY_BYTES:
                    msg = (
                        f"Secret {self._namespace}/{SECRET}: {FIELD} is under {MIN_KEY_BYTES} bytes"
                    )
                    raise ValueError(msg)
                self._key = key
            return self._key
