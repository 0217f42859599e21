"""Whether the event queue is usable, and which NATS errors mean its setup is gone (pure).

The queue is unusable while the connection to NATS is down, before the streams,
consumer and bucket are first in place, and from the moment an operation finds
one of them gone (a nats-server restarted on an empty store, a stream deleted by
hand) until they are set up again. ``Health`` keeps the current cause, ``None``
when usable; each change is a transition the shell logs once (WARNING going
down, INFO coming back) rather than on every failed operation.
"""

from dataclasses import dataclass
from typing import Final

import nats
from nats.js.errors import APIError, BucketNotFoundError, NoStreamResponseError

# JetStream's error codes for "it is not there".
STREAM_NOT_FOUND: Final = 10059
CONSUMER_NOT_FOUND: Final = 10014
_GONE_CODES: Final = frozenset({STREAM_NOT_FOUND, CONSUMER_NOT_FOUND})


def setup_gone(error: BaseException) -> bool:
    """Whether ``error`` means a stream, the consumer or the bucket does not exist (any more).

    A publish with no stream for its subject gets no responder; an API call naming a
    stream or consumer that is not there gets 404 with its code; a bucket whose stream
    is gone is BucketNotFoundError. Timeouts and lost connections are not this: they
    pass by themselves, setting up again would not help.
    """
    if isinstance(error, NoStreamResponseError | BucketNotFoundError):
        return True
    return isinstance(error, APIError) and error.err_code in _GONE_CODES


def describe(error: BaseException) -> str:
    """One line naming ``error``, for logs and /readyz."""
    text = str(error).strip() or "no detail"
    if isinstance(error, nats.errors.Error) and text.startswith("nats: "):
        text = text[len("nats: ") :]
    return f"{error.__class__.__name__}: {text}"


@dataclass(slots=True)
class Health:
    """The queue's state: ``cause`` is why it is unusable, None when it is usable."""

    cause: str | None = "not connected to NATS yet"

    @property
    def usable(self) -> bool:
        """Whether Event invocations can be queued and run."""
        return self.cause is None

    def down(self, cause: str) -> bool:
        """Mark it unusable for ``cause``; True when it was usable until now."""
        was_usable = self.cause is None
        self.cause = cause
        return was_usable

    def up(self) -> bool:
        """Mark it usable; True when it was not until now."""
        was_down = self.cause is not None
        self.cause = None
        return was_down
