"""How filter patterns see a broker record's payload (Lambda's rule for JSON data). Pure."""

import json
from typing import Any


def parsed(payload: bytes | str) -> Any:
    """A payload as filter patterns see it: JSON when it parses, else UTF-8 text.

    Records come from anyone who can write to the broker: one nested deeper than the
    parser takes (RecursionError) is text too, never an error that stops the runner.
    """
    text = payload.decode(errors="replace") if isinstance(payload, bytes) else payload
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def with_parsed(entry: dict[str, Any], field: str, payload: bytes) -> dict[str, Any]:
    """An event's entry as filter patterns see it: ``field`` holds ``payload`` parsed."""
    entry[field] = parsed(payload)
    return entry
