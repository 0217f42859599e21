"""The event a schedule delivers: EventBridge's "Scheduled Event", or the mapping's payload.

::

    {"version": "0", "id": <uuid5 of rule and time>, "detail-type": "Scheduled Event",
     "source": "aws.events", "account": <namespace>, "time": "2026-11-27T08:00:00Z",
     "region": ..., "resources": ["arn:aws:events:REGION:NAMESPACE:rule/NAME"], "detail": {}}

With ``spec.schedule.payload`` the function receives that JSON instead (as
EventBridge's constant input). The id is the same for the same rule and fire
time, so a function can de-duplicate.

Pure: no I/O, no clock.
"""

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from kappa.eventsources.source import EventContext, Record


def rule_arn(region: str, namespace: str, name: str) -> str:
    """The ARN the event names as its resource."""
    return f"arn:aws:events:{region}:{namespace}:rule/{name}"


def scheduled_event(
    *, fire: datetime, region: str, namespace: str, rule: str, payload: str | None
) -> Any:
    """The event of the fire at ``fire``."""
    if payload is not None:
        return json.loads(payload)
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{rule}@{fire.isoformat()}")),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": namespace,
        "time": fire.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule],
        "detail": {},
    }


def shape(records: Sequence[Record], context: EventContext) -> Any:  # noqa: ARG001
    """The event of a (one-record) schedule batch: the record's body, as JSON."""
    return json.loads(records[0].body)
