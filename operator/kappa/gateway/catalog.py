"""The read-only Lambda APIs' bodies: ListFunctions, GetFunction, GetAccountSettings.

``FunctionName`` is the bare name in the ``default`` namespace and
``namespace/name`` elsewhere, so that what ListFunctions returns can be passed
back to Invoke as it is; ``FunctionArn`` names the namespace either way.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from kappa.invocation.errors import invalid_parameter
from kappa.invocation.function_name import DEFAULT_NAMESPACE, LATEST
from kappa.invocation.registry import FunctionSpec

T = TypeVar("T")
DEFAULT_MAX_ITEMS: Final = 50
MAX_ITEMS: Final = 10_000
# Lambda's code size limits, reported by GetAccountSettings.
_TOTAL_CODE_SIZE: Final = 80_530_636_800
_CODE_SIZE_UNZIPPED: Final = 262_144_000
_CODE_SIZE_ZIPPED: Final = 52_428_800


def display_name(spec: FunctionSpec) -> str:
    """The ``FunctionName`` a caller can invoke the Function by."""
    if spec.namespace == DEFAULT_NAMESPACE:
        return spec.name
    return f"{spec.namespace}/{spec.name}"


def configuration(spec: FunctionSpec) -> dict[str, Any]:
    """A Lambda ``FunctionConfiguration`` for ``spec``."""
    config: dict[str, Any] = {
        "FunctionName": display_name(spec),
        "FunctionArn": spec.arn,
        "Runtime": spec.runtime,
        "Handler": spec.handler,
        "MemorySize": spec.memory_mb,
        "Timeout": max(1, round(spec.timeout_seconds)),
        "Description": spec.description,
        "Version": spec.version or LATEST,
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Image" if spec.runtime == "image" else "Zip",
    }
    if spec.runtime == "image":
        del config["Runtime"], config["Handler"]
    if spec.code_sha256:
        config["CodeSha256"] = spec.code_sha256
    if spec.last_modified:
        config["LastModified"] = spec.last_modified
    if spec.durable is not None:
        config["DurableConfig"] = {
            "RetentionPeriodInDays": spec.durable.retention_period_in_days,
            "ExecutionTimeout": spec.durable.execution_timeout_seconds,
        }
    return config


def get_function(spec: FunctionSpec) -> dict[str, Any]:
    """The GetFunction body."""
    body: dict[str, Any] = {"Configuration": configuration(spec), "Code": {}}
    if spec.reserved is not None:
        body["Concurrency"] = {"ReservedConcurrentExecutions": spec.reserved}
    return body


@dataclass(frozen=True, slots=True)
class Page:
    """One page of ListFunctions."""

    functions: Sequence[FunctionSpec]
    next_marker: str | None


def parse_max_items(raw: str | None) -> int:
    """``MaxItems`` (1..10,000; default 50); 400 otherwise."""
    if raw is None or raw == "":
        return DEFAULT_MAX_ITEMS
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ITEMS:
        raise invalid_parameter(f"MaxItems must be an integer from 1 to {MAX_ITEMS}.")
    return int(raw)


def page_after(
    items: Sequence[T], key: Callable[[T], tuple[str, str]], marker: str | None, most: int
) -> tuple[list[T], str | None]:
    """The page after ``marker`` and the next page's marker (None: this is the last).

    A marker is the ``namespace/name`` a previous page ended with. ``items`` are
    ordered by ``key`` (namespace, name); a marker need not name an item that still
    exists, so deletions between pages skip nothing.
    """
    after: tuple[str, str] | None = None
    if marker:
        namespace, slash, name = marker.partition("/")
        if not slash or not namespace or not name:
            raise invalid_parameter(f"Invalid Marker {marker[:128]!r}.")
        after = (namespace, name)
    remaining = [item for item in items if after is None or key(item) > after]
    page = remaining[:most]
    if len(remaining) > most:
        return page, "/".join(key(page[-1]))
    return page, None


def list_page(specs: Sequence[FunctionSpec], marker: str | None, max_items: int) -> Page:
    """The page of ListFunctions after ``marker`` (``page_after``)."""
    page, next_marker = page_after(specs, lambda spec: spec.key, marker, max_items)
    return Page(page, next_marker)


def list_functions(page: Page) -> dict[str, Any]:
    """The ListFunctions body."""
    body: dict[str, Any] = {"Functions": [configuration(spec) for spec in page.functions]}
    if page.next_marker is not None:
        body["NextMarker"] = page.next_marker
    return body


def account_settings(*, limit: int, reserved_total: int, function_count: int) -> dict[str, Any]:
    """The GetAccountSettings body."""
    return {
        "AccountLimit": {
            "TotalCodeSize": _TOTAL_CODE_SIZE,
            "CodeSizeUnzipped": _CODE_SIZE_UNZIPPED,
            "CodeSizeZipped": _CODE_SIZE_ZIPPED,
            "ConcurrentExecutions": limit,
            "UnreservedConcurrentExecutions": max(limit - reserved_total, 0),
        },
        "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": function_count},
    }
