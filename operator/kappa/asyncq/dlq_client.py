"""``kappa dlq list|show|redrive|delete``: the dead-letter queue over the gateway's endpoint.

The gateway holds the NATS connection; the CLI only speaks HTTP to it
(``--gateway``, ``KAPPA_GATEWAY_URL``; ``make gateway-url`` prints the
cluster's). Output: a table for ``list``, JSON otherwise.
"""

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Final

from kappa.asyncq.settings import gateway_url

_TIMEOUT: Final = 30


class DlqClientError(Exception):
    """The gateway refused the request or could not be reached (the message says which)."""


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add ``dlq`` and its subcommands."""
    summary = "list, inspect, redrive or delete dead-lettered async events"
    dlq = commands.add_parser("dlq", help=summary, description=summary)
    actions = dlq.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-n", "--namespace", default="default", help="namespace (default)")
    common.add_argument(
        "--gateway",
        default=None,
        help="gateway URL (KAPPA_GATEWAY_URL, else http://127.0.0.1:8000)",
    )
    listing = actions.add_parser("list", parents=[common], help="list dead-lettered events")
    listing.add_argument("--function", help="only this Function's")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (1-1000)")
    listing.add_argument("--marker", type=int, default=0, help="start after this sequence")
    show = actions.add_parser("show", parents=[common], help="one event, with its payload")
    show.add_argument("sequence", type=int)
    delete = actions.add_parser("delete", parents=[common], help="remove one event")
    delete.add_argument("sequence", type=int)
    redrive = actions.add_parser(
        "redrive", parents=[common], help="queue events again (new request ids)"
    )
    redrive.add_argument("sequences", type=int, nargs="*", help="these events")
    redrive.add_argument("--function", help="every event of this Function")
    redrive.add_argument("--all", action="store_true", help="every event of the namespace")


def run(args: argparse.Namespace) -> int:
    """Carry out a ``dlq`` subcommand; the exit status."""
    base = (args.gateway or gateway_url()).rstrip("/")
    path = f"/kappa/v1/namespaces/{urllib.parse.quote(args.namespace, safe='')}/dead-letters"
    try:
        if args.dlq_command == "list":
            query = {"limit": args.limit, "marker": args.marker}
            if args.function:
                query["function"] = args.function
            page = _request("GET", f"{base}{path}?{urllib.parse.urlencode(query)}")
            _print_table(page["deadLetters"])
            if page.get("nextMarker") is not None:
                print(f"(more: --marker {page['nextMarker']})")
        elif args.dlq_command == "show":
            print(json.dumps(_request("GET", f"{base}{path}/{args.sequence}"), indent=2))
        elif args.dlq_command == "delete":
            _request("DELETE", f"{base}{path}/{args.sequence}")
        else:
            print(
                json.dumps(_request("POST", f"{base}{path}/redrive", redrive_body(args)), indent=2)
            )
    except DlqClientError as exc:
        print(f"kappa dlq: {exc}", file=sys.stderr)
        return 1
    return 0


def redrive_body(args: argparse.Namespace) -> dict[str, Any]:
    """The redrive request the arguments ask for; DlqClientError unless exactly one choice."""
    chosen = [bool(args.sequences), args.function is not None, args.all]
    if sum(chosen) != 1:
        raise DlqClientError("say what to redrive: SEQUENCE..., --function NAME or --all")
    if args.sequences:
        return {"sequences": args.sequences}
    if args.function is not None:
        return {"function": args.function}
    return {"all": True}


def _request(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - the URL is the user's gateway
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:  # noqa: S310
            raw = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        try:
            parsed = json.loads(detail)
            detail = parsed.get("message") or parsed.get("Message") or detail
        except (ValueError, AttributeError):
            pass
        raise DlqClientError(
            f"{exc.code} {exc.headers.get('x-amzn-ErrorType', '')}: {detail}"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        raise DlqClientError(f"cannot reach the gateway at {url}: {exc}") from None
    return json.loads(raw) if raw else None


def _print_table(entries: list[dict[str, Any]]) -> None:
    print(f"{'SEQUENCE':>8}  {'FUNCTION':<24} {'CONDITION':<17} {'INVOKES':>7}  "
          f"{'DEAD-LETTERED':<24} {'REQUEST ID':<36}  ERROR")  # fmt: skip
    for e in entries:
        print(f"{e['sequence']:>8}  {e['function']:<24} {e['condition']:<17} "
              f"{e['approximateInvokeCount']:>7}  {e['deadLetteredAt']:<24} {e['requestId']:<36}  "
              f"{e['errorCode']} {e['errorMessage'][:80]}")  # fmt: skip
