"""The JSON the gateways send the autoscaler: built and parsed here, on both sides.

``POST /v1/stats`` every second from each gateway replica::

    {"gateway": "<id>", "functions": [{"namespace": "ns", "name": "fn",
      "inFlight": 1.5, "peak": 2, "queued": 0, "pods": {"fn-abc": 2}}]}

``POST /v1/poke`` at once when an invocation waits for a slot::

    {"gateway": "<id>", "namespace": "ns", "name": "fn", "at": 1767225600.123,
     "inFlight": 0, "peak": 0, "queued": 1}

``at`` is the gateway's wall clock when the invocation started to wait. A
gateway id is unique per gateway process. Bad documents raise ``WireError``
saying what is wrong.
"""

from collections.abc import Mapping
from typing import Any, Final

from kappa.autoscaler.stats import Key, Sample

_MAX_FUNCTIONS: Final = 100_000


class WireError(ValueError):
    """A document that is not what this module describes."""


def sample_fields(sample: Sample) -> dict[str, Any]:
    """The figures of ``sample`` as JSON fields."""
    return {
        "inFlight": round(sample.in_flight, 3),
        "peak": sample.peak,
        "queued": sample.queued,
        "pods": dict(sample.pods),
    }


def stats_document(gateway: str, functions: Mapping[Key, Sample]) -> dict[str, Any]:
    """A ``/v1/stats`` body."""
    return {
        "gateway": gateway,
        "functions": [
            {"namespace": ns, "name": name, **sample_fields(sample)}
            for (ns, name), sample in functions.items()
        ],
    }


def poke_document(gateway: str, key: Key, sample: Sample, at: float) -> dict[str, Any]:
    """A ``/v1/poke`` body."""
    return {"gateway": gateway, "namespace": key[0], "name": key[1], "at": at,
            **sample_fields(sample)}  # fmt: skip


def parse_stats(document: object) -> tuple[str, dict[Key, Sample]]:
    """(gateway, figures per function) of a ``/v1/stats`` body."""
    body = _object(document, "the body")
    items = body.get("functions")
    if not isinstance(items, list) or len(items) > _MAX_FUNCTIONS:
        raise WireError("functions must be a list")
    functions: dict[Key, Sample] = {}
    for index, item in enumerate(items):
        key, sample = _function(_object(item, f"functions[{index}]"), f"functions[{index}]")
        functions[key] = sample
    return _gateway(body), functions


def parse_poke(document: object) -> tuple[str, Key, Sample, float | None]:
    """(gateway, function, figures, when it started to wait) of a ``/v1/poke`` body."""
    body = _object(document, "the body")
    key, sample = _function(body, "the poke")
    at = body.get("at")
    if at is not None and (not isinstance(at, int | float) or isinstance(at, bool)):
        raise WireError("at must be a number (seconds since the epoch)")
    return _gateway(body), key, sample, None if at is None else float(at)


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise WireError(f"{where} must be a JSON object")
    return value


def _gateway(body: Mapping[str, Any]) -> str:
    gateway = body.get("gateway")
    if not isinstance(gateway, str) or not gateway:
        raise WireError("gateway must be a non-empty string")
    return gateway


def _count(body: Mapping[str, Any], name: str, where: str) -> int:
    value = body.get(name, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise WireError(f"{where}: {name} must be a non-negative integer")
    return value


def _function(body: Mapping[str, Any], where: str) -> tuple[Key, Sample]:
    namespace, name = body.get("namespace"), body.get("name")
    if not isinstance(namespace, str) or not isinstance(name, str) or not namespace or not name:
        raise WireError(f"{where}: namespace and name must be non-empty strings")
    in_flight = body.get("inFlight", 0)
    if not isinstance(in_flight, int | float) or isinstance(in_flight, bool) or in_flight < 0:
        raise WireError(f"{where}: inFlight must be a non-negative number")
    pods = _object(body.get("pods") or {}, f"{where}: pods")
    for pod, count in pods.items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise WireError(f"{where}: pods[{pod!r}] must be a non-negative integer")
    sample = Sample(
        in_flight=float(in_flight),
        peak=_count(body, "peak", where),
        queued=_count(body, "queued", where),
        pods=dict(pods),
    )
    return (namespace, name), sample
