"""The Registry's data made from what Kubernetes watches report: pure, no client, no clock.

``kappa.gateway.kube_registry`` lists and watches Functions (all namespaces) and
function pods (``kappa.dev/component=function``) and hands every object, as the
API server's JSON (a dict), to a ``KubeView``. The view turns them into what
the gateway reads:

- a Function → its summary (``registry.FunctionSpec``), from the spec parsed by
  the API's own model (``kappa.api.function.FunctionSpec``), the ARN from
  ``status.arn`` (or made from the region), ``status.codeSha256``, and
  ``LastModified`` from the last write of ``spec`` (``managedFields``). A spec
  the model refuses leaves the Function out (404), with a problem to log;
- a pod → an ``Endpoint``: ``<podIP>:8080`` (the agent's port), slots
  from the ``KAPPA_SLOTS`` times the ``AWS_LAMBDA_MAX_CONCURRENCY`` of its containers
  (1 each when unset, as the agent),
  ``ready`` = its ``Ready`` condition is ``True``, ``terminating`` =
  ``deletionTimestamp`` set. Pods without an IP yet and pods that ended
  (``Succeeded``/``Failed``) are no endpoints. The view routes to a pod only when the
  Function controls it (its controller ownerReference names the Function's uid, in the
  Function's namespace), and takes the agent's port (8080) and the slots
  (``concurrency.perPod x perRuntime``) from Kappa and the Function, never from the pod: a pod
  anyone labels ``kappa.dev/function`` captures no call and inflates no capacity;
- a ConcurrencyQuota → its spec (parsed by ``kappa.api.quota``); a namespace's
  limit is the tightest ``maxConcurrency`` of its quotas (``kappa.quota.limits``),
  read with the slots of the namespace's ready pods by ``admission``. A quota
  the model refuses counts as absent, with a problem to log.

The view is a ``registry.RegistryIndex`` (as StaticRegistry is, fed by its
file), which keeps the sums (reserved concurrency, ready
slots, per cluster and per namespace) as objects come and go; every change
names the Function keys whose summary or endpoints changed, so the shell can
wake the callers waiting for them.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from pydantic import ValidationError

from kappa.api import function as api
from kappa.api import function_alias, function_version
from kappa.api.meta import FROM_CLUSTER
from kappa.api.names import FUNCTION_OBJECTS, GROUP, labelled_unit
from kappa.api.quota import ConcurrencyQuotaSpec
from kappa.base.arn import function_arn
from kappa.invocation.qualifier import AliasRoute
from kappa.invocation.registry import (
    AsyncConfig,
    Destination,
    FunctionSpec,
    PushOutcome,
    RegistryIndex,
)
from kappa.invocation.routing import Endpoint, FunctionKey
from kappa.quota.limits import effective
from kappa.resources.pods import AGENT_PORT, MAX_CONCURRENCY_VARIABLE, SLOTS_VARIABLE

POD_SELECTOR: Final = ",".join(f"{key}={value}" for key, value in FUNCTION_OBJECTS.items())
_OWNER_KINDS: Final = frozenset({api.KIND, function_version.KIND})
_ENDED_PHASES: Final = frozenset({"Succeeded", "Failed"})

PodKey = tuple[str, str]  # (namespace, pod name)
QuotaKey = tuple[str, str]  # (namespace, quota name)


@dataclass(frozen=True, slots=True)
class Applied:
    """What one object (or a resync) changed: the Function keys to notify, problems to log."""

    changed: frozenset[FunctionKey] = frozenset()
    problems: tuple[str, ...] = ()


# ----------------------------------------------------------------- Functions


def function_summary(obj: Mapping[str, Any], region: str) -> FunctionSpec | str:
    """The summary of the Function ``obj`` (API JSON), or the problem that makes it unusable."""
    metadata = obj.get("metadata") or {}
    namespace, name = str(metadata.get("namespace") or ""), str(metadata.get("name") or "")
    if not namespace or not name:
        return "a Function without namespace or name"
    try:
        spec = api.FunctionSpec.model_validate(obj.get("spec") or {}, context=FROM_CLUSTER)
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'spec'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        return f"Function {namespace}/{name} has a spec the gateway cannot use: {errors}"
    status = obj.get("status") or {}
    arn = status.get("arn")
    code_sha256 = status.get("codeSha256")
    return FunctionSpec(
        namespace=namespace,
        name=name,
        arn=arn if isinstance(arn, str) and arn else function_arn(region, namespace, name),
        runtime=spec.runtime.value,
        handler=spec.handler or "",
        memory_mb=spec.memory_mb,
        timeout_seconds=float(spec.timeout_seconds),
        reserved=spec.concurrency.reserved,
        per_pod=spec.concurrency.per_pod_calls,
        async_config=AsyncConfig(
            maximum_retry_attempts=spec.async_.retry_attempts,
            maximum_event_age_seconds=spec.async_.maximum_event_age_seconds,
            on_success=_destination(spec.async_.on_success),
            on_failure=_destination(spec.async_.on_failure),
        ),
        code_sha256=code_sha256 if isinstance(code_sha256, str) else "",
        last_modified=last_modified(metadata),
        url_auth_type=spec.url.auth_type,
        url_invoke_mode=spec.url.invoke_mode,
        durable=spec.durable,
    )


def version_summary(obj: Mapping[str, Any], region: str) -> FunctionSpec | str:
    """The summary of the FunctionVersion ``obj`` (API JSON): its snapshot's, under its number.

    Keyed ``(namespace, "<function>.<number>")``; its ARN is qualified by the number.
    """
    body = function_version.as_function_body(obj)
    published = function_version.published_as(body)
    if published is None:
        return f"FunctionVersion {'/'.join(pod_key(obj))} names no function and number"
    summary = function_summary(body, region)
    if isinstance(summary, str):
        return summary.replace("Function ", "FunctionVersion ", 1)
    function, number = published
    arn = f"{function_arn(region, summary.namespace, function)}:{number}"
    return replace(summary, name=function, version=number, arn=arn)


def alias_route(obj: Mapping[str, Any]) -> tuple[tuple[str, str, str], AliasRoute] | str:
    """((namespace, function, alias), route) of the FunctionAlias ``obj``, or why it is unusable."""
    namespace, name = pod_key(obj)
    try:
        alias = function_alias.FunctionAlias.model_validate(obj, context=FROM_CLUSTER)
    except ValidationError as exc:
        errors = "; ".join(str(error["msg"]) for error in exc.errors(include_url=False))
        return f"FunctionAlias {namespace}/{name} is ignored: {errors}"
    spec = alias.spec
    weights = spec.routing_config.additional_version_weights if spec.routing_config else {}
    route = AliasRoute(spec.function_version, tuple(sorted(weights.items())))
    return (namespace, spec.function, name[len(spec.function) + 1 :]), route


def _destination(destination: api.Destination | None) -> Destination | None:
    if destination is None:
        return None
    return Destination(function=destination.function, nats_subject=destination.nats_subject)


def last_modified(metadata: Mapping[str, Any]) -> str:
    """Lambda's ``LastModified`` (``2024-05-01T12:00:00.000+0000``) of a Function.

    The latest write of ``spec`` recorded in ``managedFields`` (not status
    writes), else ``creationTimestamp``; empty when neither is there.
    """
    times = [
        str(entry["time"])
        for entry in metadata.get("managedFields") or ()
        if isinstance(entry, Mapping)
        and entry.get("time")
        and not entry.get("subresource")
        and "f:spec" in (entry.get("fieldsV1") or {})
    ]
    stamp = max(times, default=str(metadata.get("creationTimestamp") or ""))
    return _lambda_time(stamp)


def _lambda_time(stamp: str) -> str:
    # RFC 3339 as Kubernetes writes it (second precision, UTC "Z") → Lambda's form.
    if not stamp.endswith("Z") or "." in stamp:
        return stamp
    return stamp[:-1] + ".000+0000"


# ---------------------------------------------------------------------- pods


def pod_key(obj: Mapping[str, Any]) -> PodKey:
    """(namespace, name) of the pod ``obj``."""
    metadata = obj.get("metadata") or {}
    return (str(metadata.get("namespace") or ""), str(metadata.get("name") or ""))


def pod_endpoint(obj: Mapping[str, Any]) -> tuple[FunctionKey, Endpoint] | None:
    """The Function the pod ``obj`` serves and its agent endpoint, or None if it serves none."""
    metadata = obj.get("metadata") or {}
    function = labelled_unit(metadata.get("labels") or {})
    namespace, name = pod_key(obj)
    status = obj.get("status") or {}
    ip = status.get("podIP")
    if not function or not namespace or not name or not ip or status.get("phase") in _ENDED_PHASES:
        return None
    containers = (obj.get("spec") or {}).get("containers") or ()
    endpoint = Endpoint(
        pod=name,
        address=agent_address(ip),  # Kappa's port, never what the pod declares
        slots=_slots(containers),
        ready=any(
            condition.get("type") == "Ready" and condition.get("status") == "True"
            for condition in status.get("conditions") or ()
        ),
        terminating=metadata.get("deletionTimestamp") is not None,
    )
    return (namespace, str(function)), endpoint


@dataclass(frozen=True, slots=True)
class PendingPod:
    """A pod of a Function the kubelet has not given an address yet."""

    function: FunctionKey
    uid: str
    owner: str | None
    slots: int


def pending_pod(obj: Mapping[str, Any]) -> PendingPod | None:
    """The pod ``obj`` when it serves a Function and has no IP yet (nor ended, nor going)."""
    metadata = obj.get("metadata") or {}
    function = labelled_unit(metadata.get("labels") or {})
    namespace, name = pod_key(obj)
    status = obj.get("status") or {}
    uid = metadata.get("uid")
    if (
        not function
        or not namespace
        or not name
        or not isinstance(uid, str)
        or not uid
        or status.get("podIP")
        or status.get("phase") in _ENDED_PHASES
        or metadata.get("deletionTimestamp") is not None
    ):
        return None
    containers = (obj.get("spec") or {}).get("containers") or ()
    return PendingPod((namespace, str(function)), uid, pod_owner(obj), _slots(containers))


def agent_address(host: str) -> str:
    """The agent's ``host:port`` on the pod at ``host`` (Kappa's port, never the pod's)."""
    return f"[{host}]:{AGENT_PORT}" if ":" in host else f"{host}:{AGENT_PORT}"


def pod_owner(obj: Mapping[str, Any]) -> str | None:
    """The uid of the Function (or FunctionVersion) that controls the pod ``obj``, or None."""
    for owner in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if (
            owner.get("controller") is True
            and owner.get("kind") in _OWNER_KINDS
            and str(owner.get("apiVersion") or "").startswith(f"{GROUP}/")
            and owner.get("uid")
        ):
            return str(owner["uid"])
    return None


def _slots(containers: Iterable[Mapping[str, Any]]) -> int:
    return _count(containers, SLOTS_VARIABLE) * _count(containers, MAX_CONCURRENCY_VARIABLE)


def _count(containers: Iterable[Mapping[str, Any]], name: str) -> int:
    for container in containers:
        for variable in container.get("env") or ():
            if variable.get("name") == name and isinstance(variable.get("value"), str):
                try:
                    count = int(variable["value"].strip())
                except ValueError:
                    return 1
                return max(count, 1)
    return 1  # the agent's default


# -------------------------------------------------------------------- quotas


def quota_spec(obj: Mapping[str, Any]) -> ConcurrencyQuotaSpec | str:
    """The spec of the ConcurrencyQuota ``obj`` (API JSON), or why it cannot be used."""
    namespace, name = pod_key(obj)
    try:
        return ConcurrencyQuotaSpec.model_validate(obj.get("spec") or {}, context=FROM_CLUSTER)
    except ValidationError as exc:
        errors = "; ".join(str(error["msg"]) for error in exc.errors(include_url=False))
        return f"ConcurrencyQuota {namespace}/{name} is ignored, its spec is invalid: {errors}"


# ---------------------------------------------------------------------- view


class KubeView(RegistryIndex):
    """Functions and endpoints (ordered by pod name) as the watches last reported them.

    The index's watch feed. Not thread-safe: the shell applies every event on
    the gateway's event loop, where the gateway reads.
    """

    def __init__(self, region: str) -> None:
        super().__init__()
        self._region = region
        self._pods: dict[PodKey, tuple[FunctionKey, Endpoint, str | None]] = {}
        self._by_function: dict[FunctionKey, dict[str, tuple[Endpoint, str | None]]] = {}
        self._owners: dict[FunctionKey, tuple[str, int]] = {}  # the Function's uid, perPod
        self._quotas: dict[QuotaKey, ConcurrencyQuotaSpec] = {}
        # Pods of Functions without an address yet, and where those that pushed their
        # readiness said they are (kappa.base.ready_push): routed to before the kubelet
        # reports the address, which must then be the same.
        self._pending: dict[PodKey, PendingPod] = {}
        self._pushed: dict[PodKey, str] = {}

    # ------------------------------------------------------------ writes

    def quota_event(self, event_type: str, obj: Mapping[str, Any]) -> Applied:
        """Apply a watch event (``ADDED``, ``MODIFIED``, ``DELETED``) of a ConcurrencyQuota."""
        key = pod_key(obj)
        found = None if event_type == "DELETED" else quota_spec(obj)
        if isinstance(found, str):
            self._set_quota(key, None)
            return Applied(problems=(found,))
        self._set_quota(key, found)
        return Applied()

    def resync_quotas(self, objs: Iterable[Mapping[str, Any]]) -> Applied:
        """Hold exactly the ConcurrencyQuotas ``objs`` (a fresh list)."""
        seen: set[QuotaKey] = set()
        problems: list[str] = []
        for obj in objs:
            seen.add(pod_key(obj))
            problems.extend(self.quota_event("ADDED", obj).problems)
        for key in self._quotas.keys() - seen:
            self._set_quota(key, None)
        return Applied(problems=tuple(problems))

    def _set_quota(self, key: QuotaKey, spec: ConcurrencyQuotaSpec | None) -> None:
        if spec is None:
            self._quotas.pop(key, None)
        else:
            self._quotas[key] = spec
        namespace = key[0]
        limits = effective(q for (ns, _), q in self._quotas.items() if ns == namespace)
        self.put_namespace_limit(
            namespace,
            None if limits is None else limits.concurrency,
            None if limits is None else limits.queued_events,
            None if limits is None else limits.queued_bytes,
        )

    def function_event(self, event_type: str, obj: Mapping[str, Any]) -> Applied:
        """Apply a watch event (``ADDED``, ``MODIFIED``, ``DELETED``) of a Function."""
        return self._unit_event(event_type, obj, function_summary)

    def version_event(self, event_type: str, obj: Mapping[str, Any]) -> Applied:
        """Apply a watch event of a FunctionVersion: a Function of its own, ``hello.2``."""
        return self._unit_event(event_type, obj, version_summary)

    def alias_event(self, event_type: str, obj: Mapping[str, Any]) -> Applied:
        """Apply a watch event of a FunctionAlias; the next call through it takes its route."""
        namespace, name = pod_key(obj)
        for held in [k for k in self.aliases if (k[0], f"{k[1]}.{k[2]}") == (namespace, name)]:
            del self.aliases[held]
        if event_type == "DELETED":
            return Applied()
        found = alias_route(obj)
        if isinstance(found, str):
            return Applied(problems=(found,))
        key, route = found
        self.aliases[key] = route
        return Applied()

    def resync_aliases(self, objs: Iterable[Mapping[str, Any]]) -> Applied:
        """Hold exactly the FunctionAliases ``objs`` (a fresh list)."""
        self.aliases.clear()
        problems: list[str] = []
        for obj in objs:
            problems.extend(self.alias_event("ADDED", obj).problems)
        return Applied(problems=tuple(problems))

    def _unit_event(
        self,
        event_type: str,
        obj: Mapping[str, Any],
        summarise: Callable[[Mapping[str, Any], str], FunctionSpec | str],
    ) -> Applied:
        metadata = obj.get("metadata") or {}
        key = (str(metadata.get("namespace") or ""), str(metadata.get("name") or ""))
        if event_type == "DELETED":
            self._owners.pop(key, None)
            return Applied(self._set_function(key, None) | self._publish(key))
        summary = summarise(obj, self._region)
        if isinstance(summary, str):
            self._owners.pop(key, None)
            return Applied(self._set_function(key, None) | self._publish(key), (summary,))
        self._owners[key] = (str(metadata.get("uid") or ""), summary.per_pod)
        return Applied(self._set_function(key, summary) | self._publish(key))

    def pod_event(self, event_type: str, obj: Mapping[str, Any]) -> Applied:
        """Apply a watch event (``ADDED``, ``MODIFIED``, ``DELETED``) of a function pod."""
        key = pod_key(obj)
        deleted = event_type == "DELETED"
        found = None if deleted else pod_endpoint(obj)
        pending = None if deleted else pending_pod(obj)
        problems: tuple[str, ...] = ()
        pushed = self._pushed.get(key)
        if pending is not None:
            self._pending[key] = pending
        else:
            self._pending.pop(key, None)
        if found is not None and pushed is not None:
            del self._pushed[key]
            if found[1].address != agent_address(pushed):
                problem = (
                    f"pod {key[0]}/{key[1]}: the kubelet reports {found[1].address}, "
                    f"its readiness push came from {pushed}; routing to the kubelet's"
                )
                problems = (problem,)
        elif found is None and pushed is not None:
            if pending is not None:
                return Applied(frozenset())  # still no IP: the pushed address stands
            del self._pushed[key]
        owned = None if found is None else (*found, pod_owner(obj))
        return Applied(self._set_pod(key, owned), problems)

    def agent_ready(self, namespace: str, pod: str, uid: str, host: str) -> PushOutcome:
        """The readiness push of pod ``namespace/pod`` with ``uid`` from ``host``.

        Taken only for a Function's pod this view knows without an address, whose uid it
        is; the pod is then routed to at ``host`` (the agent's port), not yet Ready
        (the gateway's probe of its agent confirms it), until the kubelet's address
        replaces it.
        """
        key = (namespace, pod)
        pending = self._pending.get(key)
        if pending is None:
            return PushOutcome.KNOWN if key in self._pods else PushOutcome.UNKNOWN
        if pending.uid != uid:
            return PushOutcome.REFUSED
        self._pushed[key] = host
        endpoint = Endpoint(pod=pod, address=agent_address(host), slots=pending.slots, ready=False)
        self._set_pod(key, (pending.function, endpoint, pending.owner))
        return PushOutcome.ACCEPTED

    def changed_by_push(self, namespace: str, pod: str) -> frozenset[FunctionKey]:
        """The Function whose endpoints the accepted push of ``namespace/pod`` changed."""
        found = self._pods.get((namespace, pod))
        return frozenset() if found is None else frozenset({found[0]})

    def resync_functions(self, objs: Iterable[Mapping[str, Any]]) -> Applied:
        """Hold exactly the Functions ``objs`` (a fresh list): what changed since is notified."""
        return self._resync_units(objs, self.function_event, versions=False)

    def resync_versions(self, objs: Iterable[Mapping[str, Any]]) -> Applied:
        """Hold exactly the FunctionVersions ``objs`` (a fresh list)."""
        return self._resync_units(objs, self.version_event, versions=True)

    def _resync_units(
        self,
        objs: Iterable[Mapping[str, Any]],
        event: Callable[[str, Mapping[str, Any]], Applied],
        *,
        versions: bool,
    ) -> Applied:
        seen: set[FunctionKey] = set()
        changed: set[FunctionKey] = set()
        problems: list[str] = []
        for obj in objs:
            applied = event("ADDED", obj)
            metadata = obj.get("metadata") or {}
            seen.add((str(metadata.get("namespace") or ""), str(metadata.get("name") or "")))
            changed |= applied.changed
            problems.extend(applied.problems)
        held = [spec for spec in self._all() if (spec.version is not None) == versions]
        for spec in held:
            if spec.key not in seen:
                self._owners.pop(spec.key, None)
                changed |= self._set_function(spec.key, None) | self._publish(spec.key)
        return Applied(frozenset(changed), tuple(problems))

    def resync_pods(self, objs: Iterable[Mapping[str, Any]]) -> Applied:
        """Hold exactly the pods ``objs`` (a fresh list): what changed since is notified."""
        seen: set[PodKey] = set()
        changed: set[FunctionKey] = set()
        for obj in objs:
            seen.add(pod_key(obj))
            changed |= self.pod_event("ADDED", obj).changed
        for key in self._pods.keys() - seen:
            changed |= self._set_pod(key, None)
        for key in (self._pending.keys() | self._pushed.keys()) - seen:
            self._pending.pop(key, None)
            self._pushed.pop(key, None)
        return Applied(frozenset(changed))

    def _set_function(
        self, key: FunctionKey, summary: FunctionSpec | None
    ) -> frozenset[FunctionKey]:
        return frozenset({key}) if self.put_function(key, summary) else frozenset()

    def _set_pod(
        self, pod: PodKey, found: tuple[FunctionKey, Endpoint, str | None] | None
    ) -> frozenset[FunctionKey]:
        old = self._pods.get(pod)
        if old == found:
            return frozenset()
        touched: set[FunctionKey] = set()
        if old is not None:
            key, endpoint, _ = old
            del self._pods[pod]
            del self._by_function[key][endpoint.pod]
            if not self._by_function[key]:
                del self._by_function[key]
            touched.add(key)
        if found is not None:
            key, endpoint, owner = found
            self._pods[pod] = found
            self._by_function.setdefault(key, {})[endpoint.pod] = (endpoint, owner)
            touched.add(key)
        changed: frozenset[FunctionKey] = frozenset()
        for key in touched:
            changed |= self._publish(key)
        return changed

    def _publish(self, key: FunctionKey) -> frozenset[FunctionKey]:
        """Give the index the endpoints ``key`` routes to; ``{key}`` when they changed.

        Those are its pods that it controls, at the agent's port, with its ``perPod x perRuntime``
        slots.
        """
        uid, per_pod = self._owners.get(key, ("", 0))
        pods = self._by_function.get(key) or {}
        routed = tuple(
            replace(endpoint, slots=per_pod)
            for name in sorted(pods)
            for endpoint, owner in (pods[name],)
            if uid and owner == uid
        )
        return frozenset({key}) if self.put_endpoints(key, routed) else frozenset()
