"""Whether a trace is recorded: parent-based, then a ratio of trace ids (pure).

    caller decided (traceparent flags, X-Ray Sampled=0/1)   → follow it
    no decision (no header, Sampled=?, a Root alone)         → the ratio decides

The ratio reads the trace id's last 64 bits (random in every id; the first 32 of an
X-Ray-style id are a timestamp), so every process that sees the trace, the gateway and
the agent alike, takes the same decision for it without telling each other.
"""

from typing import Final

_SPACE: Final = 1 << 64


def sampled(trace_id: str, ratio: float, *, parent: bool | None) -> bool:
    """Record this trace? ``ratio`` in [0, 1]; ``parent``: the caller's decision, if any."""
    if parent is not None:
        return parent
    if ratio <= 0:
        return False
    if ratio >= 1:
        return True
    return int(trace_id[16:], 16) < ratio * _SPACE
