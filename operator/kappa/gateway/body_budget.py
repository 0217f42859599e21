"""The bytes of request bodies a gateway holds at once, against its budget (pure).

Every call with a body reserves its size before the body is read (its
``Content-Length``; without one, chunked, the largest body the gateway takes) and
gives it back when the call finishes, so bodies being read, waiting for a slot or
running never hold more than ``KAPPA_GATEWAY_MAX_QUEUED_BYTES`` together. A call
whose reservation does not fit is refused at once (429) rather than queued: the
bound is the configuration, not the traffic.
"""

from dataclasses import dataclass


@dataclass(slots=True)
class BodyBudget:
    """The budget (``limit`` bytes) and what calls hold of it now."""

    limit: int
    held: int = 0

    def reserve(self, size: int) -> bool:
        """Hold ``size`` more bytes if they fit; whether they did."""
        if self.held + size > self.limit:
            return False
        self.held += size
        return True

    def release(self, size: int) -> None:
        """Give back ``size`` bytes a finished call held."""
        self.held = max(self.held - size, 0)


def reservation(content_length: int | None, *, has_body: bool, largest: int) -> int:
    """The bytes a request reserves before its body is read.

    Its ``Content-Length``; none given but a body comes (chunked): ``largest``, the most
    the gateway reads; a declared length past ``largest`` reserves nothing, since the
    route refuses it (413) without reading it.
    """
    if content_length is None:
        return largest if has_body else 0
    return content_length if content_length <= largest else 0
