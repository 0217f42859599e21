"""Which NATS subjects a Function's async destinations may name: its namespace's own.

Records of one namespace must never land where another namespace (or Kappa itself)
reads: a destination ``natsSubject`` starts with ``<namespace>.`` (``team-a.orders.failed``
for a Function in ``team-a``), so a tenant's consumers subscribe to ``team-a.>`` and see
nothing of anyone else's; Kappa's own subjects (``kappa.*``) and NATS's (``$JS.*``,
``$SYS.*``, ``_INBOX.*``) cannot be named at all. The operator's admission webhook refuses
a Function that breaks this at apply time with this message. Pure.
"""

from collections.abc import Mapping
from typing import Any


def subject_refusal(body: Mapping[str, Any]) -> str | None:
    """Why the Function ``body`` may not publish where its destinations say, or None."""
    namespace = (body.get("metadata") or {}).get("namespace") or "default"
    destinations = (body.get("spec") or {}).get("async") or {}
    for which in ("onSuccess", "onFailure"):
        subject = (destinations.get(which) or {}).get("natsSubject")
        if isinstance(subject, str) and not subject.startswith(f"{namespace}."):
            return (
                f"spec.async.{which}.natsSubject {subject!r} must start with the Function's "
                f"namespace: {namespace}.{subject.split('.', 1)[-1]} for example (a namespace's "
                "records go to its own subjects only)"
            )
    return None
