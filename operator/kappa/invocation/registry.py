"""What the gateway knows of Functions and of their ready pods, behind one small interface.

The gateway reads a ``Registry`` on every request, so reads are in-memory
look-ups; nothing here calls the Kubernetes API per request.

``StaticRegistry`` holds what it is given in code or in a JSON file
(``kappa gateway --registry FILE``; the file is re-read when it changes), for
tests and development. In the cluster, ``kube_registry.KubeRegistry`` (a
watch of Functions and function pods) provides the same. Both are a
``RegistryIndex`` fed differently; each parses its own items (this module the
file's, ``kube_view`` the API server's objects). A Registry offers:

- ``function(key)``: the Function's summary from its spec (and its ARN), or
  None when it does not exist (→ 404);
- ``endpoints(key)``: its pods with the agent's ``address`` (pod IP and the
  ``invoke`` port), ``slots`` (``concurrency.perPod x perRuntime``), ``ready`` (the pod's
  Ready condition) and ``terminating`` (``deletionTimestamp`` set: no new work,
  in-flight calls finish);
- ``reserved_total()`` and ``cluster_slots()``: sums kept up to date as events
  arrive (never recomputed per request);
- ``namespace_limit(namespace)`` (the namespace's ConcurrencyQuota
  ``maxConcurrency``, None without one) and ``namespace_slots(namespace)``
  (slots of its ready, non-terminating pods), likewise kept up to date;
- change notifications: call every ``subscribe``d listener with the function's
  key after its endpoints (or spec) changed, on the gateway's event loop, so
  that waiting invocations try again at once when a pod turns ready.
"""

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from kappa.api.function import (
    ASYNC_RETRY_ATTEMPTS_DEFAULT,
    Durable,
    UrlAuthType,
    UrlInvokeMode,
)
from kappa.api.names import unit_name
from kappa.base.arn import function_arn
from kappa.invocation.qualifier import AliasRoute
from kappa.invocation.routing import Endpoint, FunctionKey

Listener = Callable[[FunctionKey], None]


@dataclass(frozen=True, slots=True)
class Destination:
    """Where an async outcome's record goes: a Function of the same namespace, or a subject."""

    function: str | None = None
    nats_subject: str | None = None


@dataclass(frozen=True, slots=True)
class AsyncConfig:
    """``spec.async``: retries, maximum event age and destinations (kappa.asyncq)."""

    maximum_retry_attempts: int = ASYNC_RETRY_ATTEMPTS_DEFAULT
    maximum_event_age_seconds: int = 21600
    on_success: Destination | None = None
    on_failure: Destination | None = None


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """The parts of a Function's spec and status the gateway needs."""

    namespace: str
    name: str
    arn: str
    runtime: str = "python3.11"
    handler: str = ""
    memory_mb: int = 128
    timeout_seconds: float = 3.0
    reserved: int | None = None
    per_pod: int = 1  # calls one pod takes at once: concurrency.perPod x perRuntime
    async_config: AsyncConfig = field(default_factory=AsyncConfig)
    code_sha256: str = ""
    last_modified: str = ""
    description: str = ""
    url_auth_type: UrlAuthType = UrlAuthType.KUBERNETES
    url_invoke_mode: UrlInvokeMode = UrlInvokeMode.BUFFERED
    version: str | None = None  # a published version's number; None: $LATEST
    durable: Durable | None = None  # spec.durable: the Function is durable

    @property
    def key(self) -> FunctionKey:
        """(namespace, name), or (namespace, "name.N") for published version N."""
        return (self.namespace, unit_name(self.name, self.version))


class PushOutcome(StrEnum):
    """What became of an agent's readiness push (kappa.base.ready_push)."""

    ACCEPTED = "accepted"  # the pod is routed to at the push's address from now on
    KNOWN = "known"  # the kubelet reported the pod's address already: nothing to learn
    UNKNOWN = "unknown"  # no pod of a Function by that name waits for its address here
    REFUSED = "refused"  # the uid is not that pod's


class Registry(Protocol):
    """What the gateway reads; see the module docstring for the contract."""

    def function(self, key: FunctionKey) -> FunctionSpec | None:
        """The Function ``key``, or None when there is no such Function."""
        ...

    def functions(self) -> Sequence[FunctionSpec]:
        """Every Function, ordered by (namespace, name) (their versions left out)."""
        ...

    def alias(self, namespace: str, function: str, alias: str) -> AliasRoute | None:
        """The route of the alias ``alias`` of ``function``; None when there is none."""
        ...

    def endpoints(self, key: FunctionKey) -> Sequence[Endpoint]:
        """The pods of ``key`` (ready or not, terminating or not)."""
        ...

    def reserved_total(self) -> int:
        """The sum of every Function's reserved concurrency."""
        ...

    def cluster_slots(self) -> int:
        """Slots of every ready, non-terminating pod of every Function."""
        ...

    def namespace_limit(self, namespace: str) -> int | None:
        """The namespace's concurrency quota; None when it has none."""
        ...

    def namespace_slots(self, namespace: str) -> int:
        """Slots of every ready, non-terminating pod of the namespace's Functions."""
        ...

    def queued_event_limit(self, namespace: str) -> int | None:
        """The most Event invocations the namespace may keep queued; None: no bound."""
        ...

    def queued_bytes_limit(self, namespace: str) -> int | None:
        """The most bytes of Event invocations the namespace may keep queued; None: no bound."""
        ...

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(key)`` after the endpoints or spec of ``key`` change."""
        ...

    def agent_ready(self, namespace: str, pod: str, uid: str, host: str) -> PushOutcome:
        """The pod ``namespace/pod`` (``uid``) pushed its readiness from ``host``."""
        ...


class RegistryIndex:
    """The reads of a Registry over Functions, endpoints and limits, with their sums kept.

    Both feeds are one: ``StaticRegistry`` (the file) and ``kube_view.KubeView``
    (the watches). Each parses its own items (``parse`` below the file's,
    ``kube_view`` the API server's objects) and puts the values in one Function
    at a time (``put_*``), or all at once (``put_all``); every put says whether
    it changed anything, so that the feed can wake the callers waiting for that
    Function. Not thread-safe: the feeds write on the event loop where the
    gateway reads.
    """

    def agent_ready(self, namespace: str, pod: str, uid: str, host: str) -> PushOutcome:  # noqa: ARG002 - a feed without pods learns nothing
        """A registry that knows no pods before they have an address: ``UNKNOWN``."""
        return PushOutcome.UNKNOWN

    def __init__(self) -> None:
        self._functions: dict[FunctionKey, FunctionSpec] = {}
        self._ordered: tuple[FunctionSpec, ...] | None = ()
        self._endpoints: dict[FunctionKey, tuple[Endpoint, ...]] = {}
        self._reserved_total = 0
        self._cluster_slots = 0
        self._namespace_slots: dict[str, int] = {}
        self.aliases: dict[tuple[str, str, str], AliasRoute] = {}  # (namespace, function, alias)
        self.namespace_limits: dict[str, int] = {}  # tests of a StaticRegistry may change them
        self.queued_event_limits: dict[str, int] = {}
        self.queued_bytes_limits: dict[str, int] = {}

    # ------------------------------------------------------------- reads

    def function(self, key: FunctionKey) -> FunctionSpec | None:
        """The Function ``key``, or None when there is no such Function."""
        return self._functions.get(key)

    def functions(self) -> Sequence[FunctionSpec]:
        """Every Function, ordered by (namespace, name) (their versions left out)."""
        if self._ordered is None:
            self._ordered = tuple(
                sorted(
                    (spec for spec in self._functions.values() if spec.version is None),
                    key=lambda spec: spec.key,
                )
            )
        return self._ordered

    def _all(self) -> list[FunctionSpec]:
        """Every Function and version held."""
        return list(self._functions.values())

    def alias(self, namespace: str, function: str, alias: str) -> AliasRoute | None:
        """The route of the alias ``alias`` of ``function``; None when there is none."""
        return self.aliases.get((namespace, function, alias))

    def endpoints(self, key: FunctionKey) -> Sequence[Endpoint]:
        """The endpoints of ``key``, in the order the feed gave them."""
        return self._endpoints.get(key, ())

    def reserved_total(self) -> int:
        """The sum of every Function's reserved concurrency."""
        return self._reserved_total

    def cluster_slots(self) -> int:
        """Slots of every ready, non-terminating endpoint."""
        return self._cluster_slots

    def namespace_limit(self, namespace: str) -> int | None:
        """The namespace's concurrency limit; None when it has none."""
        return self.namespace_limits.get(namespace)

    def namespace_slots(self, namespace: str) -> int:
        """Slots of the namespace's ready, non-terminating endpoints."""
        return self._namespace_slots.get(namespace, 0)

    def queued_event_limit(self, namespace: str) -> int | None:
        """The namespace's bound on queued Event invocations; None when it has none."""
        return self.queued_event_limits.get(namespace)

    def queued_bytes_limit(self, namespace: str) -> int | None:
        """The namespace's bound on queued Event invocations' bytes; None when it has none."""
        return self.queued_bytes_limits.get(namespace)

    # ------------------------------------------------------------ writes

    def put_function(self, key: FunctionKey, spec: FunctionSpec | None) -> bool:
        """Hold ``spec`` as the Function ``key`` (None: there is none); whether that changed it."""
        old = self._functions.get(key)
        if old == spec:
            return False
        if old is not None:
            self._reserved_total -= old.reserved or 0
        if spec is None:
            del self._functions[key]
        else:
            self._functions[key] = spec
            self._reserved_total += spec.reserved or 0
        self._ordered = None
        return True

    def put_endpoints(self, key: FunctionKey, endpoints: Sequence[Endpoint]) -> bool:
        """Hold ``endpoints`` as those of ``key`` (the Function need not exist); whether changed."""
        old = self._endpoints.get(key, ())
        new = tuple(endpoints)
        if old == new:
            return False
        if new:
            self._endpoints[key] = new
        else:
            del self._endpoints[key]
        difference = _serving_slots(new) - _serving_slots(old)
        self._cluster_slots += difference
        total = self._namespace_slots.get(key[0], 0) + difference
        if total:
            self._namespace_slots[key[0]] = total
        else:
            self._namespace_slots.pop(key[0], None)
        return True

    def put_namespace_limit(
        self,
        namespace: str,
        limit: int | None,
        queued_events: int | None = None,
        queued_bytes: int | None = None,
    ) -> None:
        """Hold the namespace's concurrency limit and queued-event and -byte bounds (None: none)."""
        for held, value in ((self.namespace_limits, limit),
                            (self.queued_event_limits, queued_events),
                            (self.queued_bytes_limits, queued_bytes)):  # fmt: skip
            if value is None:
                held.pop(namespace, None)
            else:
                held[namespace] = value

    def put_all(
        self,
        functions: Iterable[FunctionSpec],
        endpoints: Mapping[FunctionKey, Sequence[Endpoint]],
    ) -> set[FunctionKey]:
        """Hold just ``functions`` and ``endpoints``: the keys whose spec or endpoints changed."""
        new_functions = {spec.key: spec for spec in functions}
        changed = {
            key
            for key in new_functions.keys() | self._functions.keys()
            if self.put_function(key, new_functions.get(key))
        }
        changed |= {
            key
            for key in endpoints.keys() | self._endpoints.keys()
            if self.put_endpoints(key, endpoints.get(key, ()))
        }
        return changed


class RegistryFileError(ValueError):
    """The registry file is not what ``parse`` expects."""


class StaticRegistry(RegistryIndex):
    """A Registry holding what it is given (the file feed); ``replace`` swaps all of it."""

    def __init__(
        self,
        functions: Iterable[FunctionSpec] = (),
        endpoints: Mapping[FunctionKey, Sequence[Endpoint]] | None = None,
        namespace_limits: Mapping[str, int] | None = None,
        queued_event_limits: Mapping[str, int] | None = None,
        queued_bytes_limits: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.namespace_limits.update(namespace_limits or {})
        self.queued_event_limits.update(queued_event_limits or {})
        self.queued_bytes_limits.update(queued_bytes_limits or {})
        self._listeners: list[Listener] = []
        self.replace(functions, endpoints or {})

    def subscribe(self, listener: Listener) -> None:
        """See Registry."""
        self._listeners.append(listener)

    def replace(
        self,
        functions: Iterable[FunctionSpec],
        endpoints: Mapping[FunctionKey, Sequence[Endpoint]],
    ) -> None:
        """Hold exactly ``functions`` and ``endpoints`` now; notify for every key that changed."""
        for key in sorted(self.put_all(functions, endpoints)):
            for listener in self._listeners:
                listener(key)

    def set_endpoints(self, key: FunctionKey, endpoints: Sequence[Endpoint]) -> None:
        """Replace the endpoints of one function (and notify)."""
        if self.put_endpoints(key, endpoints):
            for listener in self._listeners:
                listener(key)

    def load(self, path: Path, region: str) -> None:
        """Replace everything with the contents of the JSON file at ``path``."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RegistryFileError(f"cannot read the registry file {path}: {exc}") from None
        functions, endpoints = parse(document, region)
        limits = parse_namespace_limits(document)
        self.namespace_limits.clear()
        self.namespace_limits.update(limits)
        for held, key in ((self.queued_event_limits, "namespaceQueuedEvents"),
                          (self.queued_bytes_limits, "namespaceQueuedBytes")):  # fmt: skip
            read = parse_namespace_limits(document, key)
            held.clear()
            held.update(read)
        self.replace(functions, endpoints)


def parse_namespace_limits(document: object, key: str = "namespaceLimits") -> dict[str, int]:
    """``{"namespaceLimits": {"team": 10}}`` of a registry document: namespaces' quotas.

    ``namespaceQueuedEvents`` and ``namespaceQueuedBytes`` have the same shape: namespaces'
    bounds on queued events and on their bytes.
    """
    limits = document.get(key, {}) if isinstance(document, dict) else {}
    if not isinstance(limits, dict) or not all(
        isinstance(ns, str) and isinstance(n, int) and not isinstance(n, bool) and n >= 0
        for ns, n in limits.items()
    ):
        raise RegistryFileError(f'{key} must map namespaces to counts: {{"team": 10}}')
    return dict(limits)


def parse(
    document: object, region: str
) -> tuple[list[FunctionSpec], dict[FunctionKey, list[Endpoint]]]:
    """Functions and endpoints from a registry document (the ``--registry`` file's JSON).

    ``{"functions": [{"namespace": "default", "name": "echo", "runtime": "python3.11",
    "handler": "app.echo", "memoryMB": 256, "timeoutSeconds": 3,
    "concurrency": {"reserved": 10, "perPod": 1},
    "async": {"maximumRetryAttempts": 2, "maximumEventAgeSeconds": 21600,
    "onFailure": {"function": "sink"}, "onSuccess": {"natsSubject": "done"}},
    "endpoints": [{"pod": "echo-0", "address": "127.0.0.1:8080", "slots": 1,
    "ready": true, "terminating": false}]}], "namespaceLimits": {"default": 10}}``;
    everything but ``name`` is optional (``namespaceLimits``: see ``parse_namespace_limits``);
    ``"version": "2"`` makes an entry version 2 of its Function (``Qualifier=2``);
    ``"durable": {"executionTimeoutSeconds": 3600}`` makes it durable (as ``spec.durable``).
    """
    if not isinstance(document, dict) or not isinstance(document.get("functions", []), list):
        raise RegistryFileError('the registry must be an object {"functions": [...]}')
    functions: list[FunctionSpec] = []
    endpoints: dict[FunctionKey, list[Endpoint]] = {}
    for index, item in enumerate(document.get("functions", [])):
        where = f"functions[{index}]"
        try:
            spec, found = _function(item, region)
        except (KeyError, TypeError, ValueError) as exc:
            raise RegistryFileError(f"{where}: {exc!r}") from None
        functions.append(spec)
        endpoints[spec.key] = found
    return functions, endpoints


def _function(item: Any, region: str) -> tuple[FunctionSpec, list[Endpoint]]:
    namespace = str(item.get("namespace", "default"))
    name = str(item["name"])
    concurrency = item.get("concurrency") or {}
    reserved = concurrency.get("reserved")
    # What a pod takes at once: its runtime processes times each one's calls.
    per_pod = int(concurrency.get("perPod", 1)) * int(concurrency.get("perRuntime", 1))
    asynchronous = item.get("async") or {}
    version = item.get("version")  # a published version's number (key "<name>.<number>")
    if version is not None and not (isinstance(version, str) and version.isdigit()):
        raise ValueError(f"version must be a published version's number, not {version!r}")
    arn = function_arn(region, namespace, name) + (f":{version}" if version else "")
    spec = FunctionSpec(
        namespace=namespace,
        name=name,
        version=version,
        arn=str(item.get("arn") or arn),
        runtime=str(item.get("runtime", "python3.11")),
        handler=str(item.get("handler", "")),
        memory_mb=int(item.get("memoryMB", 128)),
        timeout_seconds=float(item.get("timeoutSeconds", 3)),
        reserved=None if reserved is None else int(reserved),
        per_pod=per_pod,
        async_config=AsyncConfig(
            maximum_retry_attempts=int(
                asynchronous.get("maximumRetryAttempts", ASYNC_RETRY_ATTEMPTS_DEFAULT)
            ),
            maximum_event_age_seconds=int(asynchronous.get("maximumEventAgeSeconds", 21600)),
            on_success=_destination(asynchronous.get("onSuccess")),
            on_failure=_destination(asynchronous.get("onFailure")),
        ),
        code_sha256=str(item.get("codeSha256", "")),
        last_modified=str(item.get("lastModified", "")),
        description=str(item.get("description", "")),
        url_auth_type=UrlAuthType(item.get("urlAuthType", UrlAuthType.KUBERNETES)),
        url_invoke_mode=UrlInvokeMode(item.get("urlInvokeMode", UrlInvokeMode.BUFFERED)),
        durable=None if item.get("durable") is None else Durable.model_validate(item["durable"]),
    )
    found = [
        Endpoint(
            pod=str(raw["pod"]),
            address=str(raw["address"]),
            slots=int(raw.get("slots", per_pod)),
            ready=bool(raw.get("ready", True)),
            terminating=bool(raw.get("terminating", False)),
        )
        for raw in item.get("endpoints", [])
    ]
    return spec, found


def _destination(item: Any) -> Destination | None:
    if item is None:
        return None
    function, subject = item.get("function"), item.get("natsSubject")
    return Destination(
        function=None if function is None else str(function),
        nats_subject=None if subject is None else str(subject),
    )


def _serving_slots(endpoints: Iterable[Endpoint]) -> int:
    return sum(e.slots for e in endpoints if e.ready and not e.terminating)
