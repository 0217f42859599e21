"""``kappa executions FUNCTION``: a durable Function's executions, where each one stands.

The arguments are defined in ``kappa.cli.main`` (kept light); this module is imported on use.

Reads Kappa's list (``GET /kappa/v1/namespaces/{ns}/functions/{name}/durable-executions``)
through the gateway as the caller the environment names (a token or access keys, as
``kappa dlq``): NAME, STATUS, VERSION, STARTED, CURRENT (the last started operation:
type, name, status) and NEXT WAKE-UP (its earliest live timer). ``show ARN``,
``callback CALLBACK_ID --succeed JSON | --fail MSG | --heartbeat`` and ``stop ARN`` call
Lambda's durable routes on the gateway (GetDurableExecution and its history,
SendDurableExecutionCallback*, StopDurableExecution), as the AWS CLI's durable commands do.
"""

import argparse
import json
import sys
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from kappa.asyncq.dlq_client import DlqClientError, request_json
from kappa.asyncq.settings import caller_credentials, gateway_url

_API: Final = "/2025-12-01"
_HISTORY_PAGE: Final = 1000

_COLUMNS: Final = (("NAME", 36), ("STATUS", 10), ("VERSION", 8), ("STARTED", 24),
                   ("CURRENT", 44), ("NEXT WAKE-UP", 24))  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """List the executions, or ``show``, ``callback``, ``stop`` one; the exit status."""
    action = _ACTIONS.get(args.function) if args.target is not None else _list
    if action is None:
        print(f"kappa executions: {args.function} takes no second argument", file=sys.stderr)
        return 2
    try:
        action(args, (args.gateway or gateway_url()).rstrip("/"))
    except DlqClientError as exc:
        print(f"kappa executions: {exc}", file=sys.stderr)
        return 1
    return 0


def _call(args: argparse.Namespace, method: str, url: str, body: object | None = None) -> Any:
    return request_json(caller_credentials(args.token), method, url, body)


def _list(args: argparse.Namespace, base: str) -> None:
    quote = urllib.parse.quote
    path = (
        f"/kappa/v1/namespaces/{quote(args.namespace, safe='')}/functions/"
        f"{quote(args.function, safe='')}/durable-executions"
    )
    query: list[tuple[str, str]] = [("limit", str(args.limit))]
    query += [("status", status) for status in args.status or ()]
    query += [(key, value) for key, value in (("qualifier", args.qualifier),
                                              ("marker", args.marker)) if value]  # fmt: skip
    page = _call(args, "GET", f"{base}{path}?{urllib.parse.urlencode(query)}")
    print(table(page["executions"]))
    if page.get("nextMarker"):
        print(f"(more: --marker {page['nextMarker']})")


def _execution_url(base: str, arn: str) -> str:
    return f"{base}{_API}/durable-executions/{urllib.parse.quote(arn, safe='')}"


def _show(args: argparse.Namespace, base: str) -> None:
    url = _execution_url(base, args.target)
    execution = _call(args, "GET", f"{url}?IncludeExecutionData=true")
    history = _call(args, "GET", f"{url}/history?MaxItems={_HISTORY_PAGE}")
    print(details(execution, history.get("Events", []), more=bool(history.get("NextMarker"))))


def _stop(args: argparse.Namespace, base: str) -> None:
    stopped = _call(args, "POST", f"{_execution_url(base, args.target)}/stop")
    print(f"stopped at {_iso(stopped.get('StopTimestamp'))}")


def _callback(args: argparse.Namespace, base: str) -> None:
    kind, body = callback_request(args.succeed, args.fail, heartbeat=args.heartbeat)
    callback = urllib.parse.quote(args.target, safe="")
    _call(args, "POST", f"{base}{_API}/durable-execution-callbacks/{callback}/{kind}", body)
    print(f"callback {kind} sent")


_ACTIONS: Final[dict[str, Callable[[argparse.Namespace, str], None]]] = {
    "show": _show,
    "stop": _stop,
    "callback": _callback,
}


def callback_request(
    succeed: str | None, fail: str | None, *, heartbeat: bool
) -> tuple[str, object | None]:
    """The callback route's last segment and its JSON body, from exactly one choice.

    ``--succeed`` must be JSON (the callback's result); ``--fail`` is the error message.
    DlqClientError when none or the JSON is not JSON.
    """
    if succeed is not None:
        try:
            return "succeed", json.loads(succeed)
        except ValueError as exc:
            raise DlqClientError(f"--succeed takes JSON: {exc}") from None
    if fail is not None:
        return "fail", {"ErrorMessage": fail}
    if heartbeat:
        return "heartbeat", None
    raise DlqClientError("say how the callback ends: --succeed JSON, --fail MSG or --heartbeat")


def _iso(seconds: object) -> str:
    """Lambda's epoch seconds in UTC, ISO 8601 (``-`` when there are none)."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return "-"
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def details(
    execution: Mapping[str, Any], events: Sequence[Mapping[str, Any]], *, more: bool
) -> str:
    """GetDurableExecution's answer and its history's events, for a person to read."""
    fields = (
        ("Name", execution.get("DurableExecutionName")),
        ("ARN", execution.get("DurableExecutionArn")),
        ("Status", execution.get("Status")),
        ("Version", execution.get("Version")),
        ("Started", _iso(execution.get("StartTimestamp"))),
        ("Ended", _iso(execution.get("EndTimestamp"))),
        ("Input", execution.get("InputPayload")),
        ("Result", execution.get("Result")),
        ("Error", execution.get("Error")),
    )
    lines = [f"{key + ':':<9} {value}" for key, value in fields if value not in (None, "-")]
    lines.append("History:")
    for event in events:
        cells = (_iso(event.get("EventTimestamp")), event.get("EventType"), event.get("Id"),
                 event.get("Name"))  # fmt: skip
        lines.append("  " + "  ".join(str(cell) for cell in cells if cell is not None))
    if more:
        lines.append("  (more events: aws lambda get-durable-execution-history)")
    return "\n".join(lines)


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
