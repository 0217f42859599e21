"""Telling the gateways the runtimes are ready (a shell over ``kappa.base.ready_push``).

Once every slot's runtime has reached ``/next``, the agent posts its readiness to each
gateway address the operator gave it, all at once, each bounded by a short timeout. A
push that fails changes nothing: that gateway learns of the pod from the kubelet, as
without a push. Plain HTTP/1.1 on a socket of its own (the agent imports no client).
"""

import asyncio
from collections.abc import Callable
from typing import Final

from kappa.base import ready_push
from kappa.base.ready_push import ReadyPush

TIMEOUT_SECONDS: Final = 1.0
_STATUS_LINE_MAX: Final = 256


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


async def _push_one(address: str, body: bytes) -> int:
    """POST ``body`` to the gateway at ``address``; its status code."""
    host, port = _split(address)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        head = (
            f"POST {ready_push.PATH} HTTP/1.1\r\nHost: {address}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
        await writer.drain()
        line = await reader.readline()
        parts = line[:_STATUS_LINE_MAX].split()
        return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0  # noqa: PLR2004
    finally:
        writer.close()


async def push(
    addresses: tuple[str, ...], who: ReadyPush, log: Callable[[str, str], None]
) -> dict[str, int]:
    """Tell every gateway in ``addresses`` that ``who`` is ready: each one's status (0: none)."""
    body = ready_push.encode(who)

    async def one(address: str) -> int:
        try:
            return await asyncio.wait_for(_push_one(address, body), TIMEOUT_SECONDS)
        except (OSError, TimeoutError, ValueError):
            return 0

    statuses = await asyncio.gather(*(one(address) for address in addresses))
    answered = dict(zip(addresses, statuses, strict=True))
    log(
        "INFO",
        "readiness told: " + ", ".join(f"{a} {s or 'no answer'}" for a, s in answered.items()),
    )
    return answered
