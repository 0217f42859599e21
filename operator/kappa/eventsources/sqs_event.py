"""The Lambda event of an SQS batch, its filter view, and the queue's ARN.

Lambda delivers ``{"Records": [...]}``, one entry per message::

    {"messageId", "receiptHandle", "body", "attributes": {"ApproximateReceiveCount",
     "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp", ...},
     "messageAttributes": {name: {"stringValue"|"binaryValue", "stringListValues": [],
     "binaryListValues": [], "dataType"}},
     "md5OfBody", "eventSource": "aws:sqs", "eventSourceARN", "awsRegion"}

Pure: no I/O, no clock.
"""

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from kappa.eventsources.filter_payload import parsed
from kappa.eventsources.source import EventContext, Record


def queue_arn(queue_url: str, region: str) -> str:
    """``arn:aws:sqs:REGION:ACCOUNT:QUEUE`` of a queue URL ``.../ACCOUNT/QUEUE``."""
    parts = [p for p in urlsplit(queue_url).path.split("/") if p]
    account = parts[-2] if len(parts) >= 2 else "000000000000"  # noqa: PLR2004 - /account/queue
    name = parts[-1] if parts else ""
    return f"arn:aws:sqs:{region}:{account}:{name}"


def message_attributes(raw: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """SQS API message attributes (``StringValue``...) as Lambda spells them (``stringValue``)."""
    shaped: dict[str, dict[str, Any]] = {}
    for name, attribute in raw.items():
        entry: dict[str, Any] = {
            "stringListValues": list(attribute.get("StringListValues", [])),
            "binaryListValues": list(attribute.get("BinaryListValues", [])),
            "dataType": attribute.get("DataType", "String"),
        }
        if "StringValue" in attribute:
            entry["stringValue"] = attribute["StringValue"]
        if "BinaryValue" in attribute:
            entry["binaryValue"] = attribute["BinaryValue"]
        shaped[name] = entry
    return shaped


def event_record(record: Record, context: EventContext) -> dict[str, Any]:
    """One entry of ``Records``."""
    fields = record.source_fields
    return {
        "messageId": record.id,
        "receiptHandle": fields.get("receiptHandle", ""),
        "body": record.body.decode("utf-8", errors="replace"),
        "attributes": dict(record.attributes),
        "messageAttributes": dict(fields.get("messageAttributes", {})),
        "md5OfBody": fields.get("md5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": context.event_source_arn,
        "awsRegion": context.aws_region,
    }


def shape(records: Sequence[Record], context: EventContext) -> dict[str, object]:
    """The Lambda event of ``records``: ``{"Records": [...]}``."""
    return {"Records": [event_record(r, context) for r in records]}


def filter_view(record: Record, context: EventContext) -> dict[str, Any]:
    """What filter patterns see: the event entry, with a JSON body parsed (Lambda's rule)."""
    view = event_record(record, context)
    view["body"] = parsed(record.body)  # a plain-text body is matched as a string
    return view
