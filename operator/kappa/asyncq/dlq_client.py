"""``kappa dlq list|show|redrive|delete``: the dead-letter queue over the gateway's endpoint.

The arguments are defined in ``kappa.cli`` (the in-pod agent's image carries that module
but not this package). The gateway holds the NATS connection; the CLI only speaks HTTP to it
(``--gateway``, ``KAPPA_GATEWAY_URL``; ``make gateway-url`` prints the
cluster's), as the caller ``kappa.auth.credentials`` finds in the environment: a token
(``--token``, ``KAPPA_TOKEN``) or access keys (``AWS_ACCESS_KEY_ID``...). Output: a table
for ``list``, JSON otherwise.
"""

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from typing import Any, Final

from kappa.asyncq.settings import caller_credentials, gateway_url
from kappa.auth.credentials import Credentials

_TIMEOUT: Final = 30


class DlqClientError(Exception):
    """The gateway refused the request or could not be reached (the message says which)."""


def run(args: argparse.Namespace) -> int:
    """Carry out a ``dlq`` subcommand; the exit status."""
    base = (args.gateway or gateway_url()).rstrip("/")
    credentials = caller_credentials(args.token)
    path = f"/kappa/v1/namespaces/{urllib.parse.quote(args.namespace, safe='')}/dead-letters"
    try:
        if args.dlq_command == "list":
            query = {"limit": args.limit, "marker": args.marker}
            if args.function:
                query["function"] = args.function
            page = request_json(credentials, "GET", f"{base}{path}?{urllib.parse.urlencode(query)}")
            _print_table(page["deadLetters"])
            if page.get("nextMarker") is not None:
                print(f"(more: --marker {page['nextMarker']})")
        elif args.dlq_command == "show":
            print(
                json.dumps(
                    request_json(credentials, "GET", f"{base}{path}/{args.sequence}"), indent=2
                )
            )
        elif args.dlq_command == "delete":
            request_json(credentials, "DELETE", f"{base}{path}/{args.sequence}")
        else:
            print(
                json.dumps(
                    request_json(credentials, "POST", f"{base}{path}/redrive", redrive_body(args)),
                    indent=2,
                )
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


def request_json(
    credentials: Credentials, method: str, url: str, body: object | None = None
) -> Any:
    """``method`` ``url`` to the gateway as ``credentials``' caller: its JSON answer.

    ``body``, when given, is sent as JSON. DlqClientError (the gateway's refusal, or no
    answer) says why, in one line.
    """
    data = None if body is None else json.dumps(body).encode()
    headers = credentials.headers(
        method, url, [("Content-Type", "application/json")], data or b"", datetime.now(UTC)
    )
    request = urllib.request.Request(  # noqa: S310 - the URL is the user's gateway
        url, data=data, method=method, headers=dict(headers)
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
