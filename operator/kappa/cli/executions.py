"""``kappa executions FUNCTION``: a durable Function's executions, where each one stands.

The arguments are defined in ``kappa.cli.main`` (kept light); this module is imported on use.

Reads Kappa's list (``GET /kappa/v1/namespaces/{ns}/functions/{name}/durable-executions``)
through the gateway as the caller the environment names (a token or access keys, as
``kappa dlq``): NAME, STATUS, VERSION, STARTED, CURRENT (the last started operation:
type, name, status) and NEXT WAKE-UP (its earliest live timer). The rest of the durable
API (an execution's history, callbacks, stop) is Lambda's: the AWS CLI's
``get-durable-execution-history``, ``send-durable-execution-callback-success``,
``stop-durable-execution`` work against the gateway as against Lambda.
"""

import argparse
import sys
import urllib.parse
from collections.abc import Sequence
from typing import Any, Final

from kappa.asyncq.dlq_client import DlqClientError, request_json
from kappa.asyncq.settings import caller_credentials, gateway_url

_COLUMNS: Final = (("NAME", 36), ("STATUS", 10), ("VERSION", 8), ("STARTED", 24),
                   ("CURRENT", 44), ("NEXT WAKE-UP", 24))  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """List the executions; the exit status."""
    base = (args.gateway or gateway_url()).rstrip("/")
    quote = urllib.parse.quote
    path = (
        f"/kappa/v1/namespaces/{quote(args.namespace, safe='')}/functions/"
        f"{quote(args.function, safe='')}/durable-executions"
    )
    query: list[tuple[str, str]] = [("limit", str(args.limit))]
    query += [("status", status) for status in args.status or ()]
    if args.marker:
        query.append(("marker", args.marker))
    url = f"{base}{path}?{urllib.parse.urlencode(query)}"
    try:
        page = request_json(caller_credentials(args.token), "GET", url)
    except DlqClientError as exc:
        print(f"kappa executions: {exc}", file=sys.stderr)
        return 1
    print(table(page["executions"]))
    if page.get("nextMarker"):
        print(f"(more: --marker {page['nextMarker']})")
    return 0


def table(executions: Sequence[dict[str, Any]]) -> str:
    """The executions as a table, one line each (``-`` for what is not there)."""
    lines = ["  ".join(f"{title:<{width}}" for title, width in _COLUMNS).rstrip()]
    for item in executions:
        cells = (item.get("name"), item.get("status"), item.get("version"), item.get("started"),
                 item.get("current"), item.get("nextWakeUp"))  # fmt: skip
        padded = [
            f"{cell or '-'!s:<{width}}" for cell, (_, width) in zip(cells, _COLUMNS, strict=True)
        ]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)
