"""How filter patterns see a broker record's payload (Lambda's rule for JSON data). Pure."""

import json
from typing import Any


def parsed(payload: bytes) -> Any:
    """A payload as filter patterns see it: JSON when it parses, else UTF-8 text."""
    text = payload.decode(errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def with_parsed(entry: dict[str, Any], field: str, payload: bytes) -> dict[str, Any]:
    """An event's entry as filter patterns see it: ``field`` holds ``payload`` parsed."""
    entry[field] = parsed(payload)
    return entry
