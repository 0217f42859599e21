"""kopf wiring of concurrency quotas: what Functions claim, the quotas' status, the webhook.

Thin by design; the decisions are ``kappa.quota`` (pure) and ``quota_status``.

- Watches (kopf events) keep three small maps: each Function's claim (reserved,
  provisioned, creation time), each ConcurrencyQuota's spec, and the slots of
  each ready function pod; with the sums of the claims per namespace and for
  the cluster kept as they change.
- A loop, woken by any change (at most every ``SETTLE_SECONDS``), works out
  which Functions do not fit (``claims.held``: first come, first served) and
  hands them to the Function reconciler (through ``HeldFunctions``: Ready=False
  QuotaExceeded, no new pods, a Warning Event once), and writes every quota's
  status where it changed.
- With ``KAPPA_WEBHOOK_SERVICE`` set, a validating admission webhook refuses
  at ``kubectl apply`` a Function that asks for more than its namespace's
  quota or the cluster leaves (``claims.refusal``). kopf serves it (TLS with the
  certificate every replica shares, ``webhook_tls.py``, written to a private folder of
  the temporary directory, whence kopf loads it); the leader keeps the
  ValidatingWebhookConfiguration ``kappa.dev`` pointing at the Service.

Every replica serves the webhook, the leader and those standing by, so applies are
checked while the leader is down or being replaced. ``register_admission`` is what each
needs: the claims and quotas (the watches above less the pods) and the validate handlers;
a standby runs it alone in a kopf registry of its own (``controller/main.py``), the
leader as part of everything else. The claims and quotas are kopf index handlers, so kopf
runs no other handler before every Function, FunctionVersion and ConcurrencyQuota has been
listed and taken in; the first event of the operator's own namespace then marks the maps
``listed``. Until then a replica refuses only what its partial sums already refuse (they
only grow as the listing goes on) and lets the rest through with a warning.

Usage: the gateways' reports (``kappa.autoscaler.server``) feed ``Quotas.usage``,
a ledger of requests and GB-seconds per Function since this replica began to lead
(kopf's start-up, which waits for the Lease); every
``USAGE_SECONDS`` the loop takes a copy of it and writes each quota's
``status.usage`` where it changed (not on every report, so a busy namespace costs
one status write a half-minute, not one a second).

Failure policy ``Ignore``: while no replica answers, Functions are still accepted, so
GitOps syncs and fixes never block on it. Nothing is lost by that: what the webhook did
not refuse, the leader's loop holds, and the gateway throttles a namespace at its quota
whatever its Functions ask for. The webhook answers from the watches' maps, so two
Functions applied within the same instant may both pass; the later one is then held.
"""

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

import aiohttp.web
import kopf
from kubernetes.client.exceptions import ApiException

from kappa.api import function_version
from kappa.api import quota as api
from kappa.api.names import FUNCTION_OBJECTS, GROUP, VERSION
from kappa.controller.admission_review import review_problem
from kappa.controller.certificate import Certificate
from kappa.controller.memory import Key
from kappa.controller.quota_status import quota_status
from kappa.controller.runtimes import runtime_refusal
from kappa.controller.subjects import subject_refusal
from kappa.controller.webhook_tls import TlsObjects, webhook_certificate
from kappa.invocation.kube_view import pod_endpoint, pod_owner, quota_spec
from kappa.quota.claims import Claim, Sums, claim_of, held, refusal
from kappa.quota.headroom import NamespaceUse, namespace_headroom
from kappa.quota.limits import ClusterLimits, NamespaceLimits, effective
from kappa.quota.usage import Usage, UsageLedger
from kappa.settings import Settings

log = logging.getLogger(__name__)

SETTLE_SECONDS: Final = 0.5
USAGE_SECONDS: Final = 30.0
WEBHOOK_CONFIGURATION: Final = "kappa.dev"
NOT_LISTED: Final = (
    "the concurrency quota was not checked: the operator replica that answered is still "
    "listing the cluster's Functions and quotas; if this Function does not fit it is held "
    "(Ready=False, QuotaExceeded)"
)


class HeldFunctions(Protocol):
    """What the quota loop needs of the Function controller (its memory of Functions)."""

    def holds(self) -> Mapping[Key, str]:
        """The Functions held now, with why."""
        ...

    def hold(self, key: Key, message: str | None) -> None:
        """Hold a Function (no new pods), or release it (None)."""
        ...

    def body(self, key: Key) -> Mapping[str, Any] | None:
        """The Function as last seen, or None."""
        ...

    def wake(self, key: Key) -> bool:
        """Make a known Function's reconciler pass now."""
        ...


class QuotaObjects(Protocol):
    """The API calls the quota loop makes."""

    async def patch_quota_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        """Write a ConcurrencyQuota's status."""
        ...

    async def post_event(
        self, body: Mapping[str, Any], *, reason: str, message: str, warning: bool = False
    ) -> None:
        """Post an Event about an object."""
        ...


@dataclass
class _Quota:
    generation: int
    spec: api.ConcurrencyQuotaSpec | None
    status: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PodUse:
    """A live function pod as the quotas count it."""

    function: Key  # the Function its label names
    owner: str | None  # the uid of the Function that controls it (ownerReference)
    ready: bool


class PodUses(dict[Key, PodUse]):
    """The live function pods by (namespace, pod name), also grouped by namespace.

    A namespace's sums read only its own pods, not every pod of the cluster. Written with
    ``[key] = use`` and ``pop(key)`` only (the grouping follows those two).
    """

    def __init__(self) -> None:
        super().__init__()
        self._by_namespace: dict[str, dict[Key, PodUse]] = {}

    def __setitem__(self, key: Key, use: PodUse) -> None:
        super().__setitem__(key, use)
        self._by_namespace.setdefault(key[0], {})[key] = use

    def pop(self, key: Key, default: PodUse | None = None) -> PodUse | None:  # type: ignore[override]
        """Remove ``key``; its use, or ``default``."""
        found = super().pop(key, default)
        group = self._by_namespace.get(key[0])
        if group is not None:
            group.pop(key, None)
            if not group:
                del self._by_namespace[key[0]]
        return found

    def in_namespace(self, namespace: str) -> list[PodUse]:
        """The pods of ``namespace``."""
        return list(self._by_namespace.get(namespace, {}).values())


@dataclass
class Quotas:
    """What the watches showed of claims, quotas and slots, and the sums of the claims."""

    cluster_limits: ClusterLimits
    claims: dict[Key, Claim] = field(default_factory=dict)
    quotas: dict[Key, _Quota] = field(default_factory=dict)
    # Every live function pod (ready or starting, not terminating): its Function, the uid
    # of the Function that controls it, whether it is ready. Its slots are read from that
    # Function's claim (perPod x perRuntime), never from the pod, and only when the Function
    # controls it: a pod anyone labels as a Function's takes no room and no quota.
    pods: PodUses = field(default_factory=PodUses)
    namespace_sums: dict[str, Sums] = field(default_factory=dict)
    cluster_sums: Sums = field(default_factory=Sums)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    # Set once every Function, FunctionVersion and ConcurrencyQuota has been listed into
    # the maps above (the admission webhook answers from them in full only then).
    listed: asyncio.Event = field(default_factory=asyncio.Event)
    # Usage since the operator started (fed by the gateways' reports), and the copy of it
    # the quotas' status shows, taken every USAGE_SECONDS.
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    usage: UsageLedger = field(init=False)
    shown_usage: dict[str, dict[str, Usage]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.usage = UsageLedger(since=self.started.timestamp())

    def begin_usage(self, now: datetime) -> None:
        """Count usage from ``now`` (the operator begins to lead): nothing before is known."""
        self.started = now
        self.usage.reset(now.timestamp())
        self.shown_usage = {}

    def refresh_usage(self) -> None:
        """Take a copy of the ledger for the quotas' namespaces; wake the loop if it moved."""
        shown = {ns: self.usage.namespace(ns) for ns, _ in self.quotas}
        if shown != self.shown_usage:
            self.shown_usage = shown
            self.changed.set()

    def set_claim(self, key: Key, claim: Claim | None) -> None:
        """Hold ``claim`` for the Function ``key`` (None: it is gone)."""
        old = self.claims.get(key)
        if old == claim:
            return
        sums = self.namespace_sums.setdefault(key[0], Sums())
        if old is not None:
            sums.add(old, -1)
            self.cluster_sums.add(old, -1)
            del self.claims[key]
        if claim is not None:
            sums.add(claim)
            self.cluster_sums.add(claim)
            self.claims[key] = claim
        self.changed.set()

    def drop_claim(self, key: Key, uid: str) -> None:
        """The Function ``key`` of ``uid`` is gone (not one made again under its name)."""
        held_claim = self.claims.get(key)
        if held_claim is not None and held_claim.uid == uid:
            self.set_claim(key, None)

    def limits(self, namespace: str) -> NamespaceLimits | None:
        """The namespace's effective limits (the tightest of its quotas)."""
        return effective(
            q.spec for (ns, _), q in self.quotas.items() if ns == namespace and q.spec is not None
        )

    def pod_slots(self, pod: PodUse) -> int:
        """The slots of ``pod``: its Function's perPod x perRuntime if it controls it, else 0."""
        claim = self.claims.get(pod.function)
        return claim.per_pod if claim is not None and claim.uid == pod.owner else 0

    def slots(self, namespace: str) -> int:
        """Slots of the namespace's ready, non-terminating function pods."""
        return sum(self.pod_slots(pod) for pod in self.pods.in_namespace(namespace) if pod.ready)

    def headroom(self, function: Key) -> int | None:
        """Slots ``function`` may still add under its namespace's quota; None: no quota."""
        namespace = function[0]
        limits = self.limits(namespace)
        if limits is None:
            return None
        mine = [(pod.function, self.pod_slots(pod)) for pod in self.pods.in_namespace(namespace)]
        claim = self.claims.get(function)
        unreserved = sum(
            n for fn, n in mine if (c := self.claims.get(fn)) is None or c.reserved is None
        )
        use = NamespaceUse(
            slots=sum(n for _, n in mine),
            unreserved_slots=unreserved,
            reserved=self.namespace_sums.get(namespace, Sums()).reserved,
        )
        return namespace_headroom(limits, use, reserved=None if claim is None else claim.reserved)

    def admission(self, new: Claim, old: Claim | None) -> str | None:
        """Why the webhook refuses ``new`` (``old``: the Function before an update), or None.

        Before ``listed`` the sums are partial; they only grow, so what they refuse is
        refused in full too (the caller warns that the rest was not checked).
        """
        mine = self.claims.get(new.key)
        return refusal(
            new,
            old,
            namespace=self.namespace_sums.get(new.namespace, Sums()).without(mine),
            cluster=self.cluster_sums.without(mine),
            limits=self.limits(new.namespace),
            cluster_limits=self.cluster_limits,
        )


def register(
    functions: HeldFunctions, objects: QuotaObjects, tls: TlsObjects, settings: Settings
) -> Quotas:
    """Register the leader's quota handlers (and the webhook, when configured) with kopf."""
    registry = kopf.get_default_registry()
    quotas = register_admission(registry, tls, settings, manage=True)

    @kopf.on.event("pods", labels=FUNCTION_OBJECTS, id="quota_slots", registry=registry)  # type: ignore[arg-type]
    async def pod_slots(
        event: kopf.RawEvent, body: kopf.Body, namespace: str, name: str, **_: Any
    ) -> None:
        found = None if event.get("type") == "DELETED" else pod_endpoint(body)
        key = (namespace, name)
        old = quotas.pods.get(key)
        if found is not None and not found[1].terminating:
            quotas.pods[key] = PodUse(found[0], pod_owner(body), ready=found[1].ready)
        else:
            quotas.pods.pop(key, None)
        if quotas.pods.get(key) != old and any(ns == namespace for ns, _ in quotas.quotas):
            quotas.changed.set()

    tasks: set[asyncio.Task[None]] = set()

    @kopf.on.startup(id="quotas", registry=registry)
    async def start(**_: Any) -> None:
        # kopf starts once this replica leads: what a standby was told counts for nothing.
        quotas.begin_usage(datetime.now(UTC))
        tasks.add(asyncio.create_task(_loop(functions, objects, quotas), name="quotas"))
        tasks.add(asyncio.create_task(_usage_loop(quotas), name="quota-usage"))

    return quotas


def register_admission(
    registry: kopf.OperatorRegistry, tls: TlsObjects, settings: Settings, *, manage: bool
) -> Quotas:
    """What answering the admission webhook takes, registered with ``registry``.

    The claims and quotas, the ``listed`` mark and, with ``KAPPA_WEBHOOK_SERVICE`` set,
    the webhook itself; ``manage``: keep its ValidatingWebhookConfiguration too (the
    leader only: one writer).
    """
    quotas = Quotas(ClusterLimits(settings.concurrency_limit, settings.unreserved_minimum))

    @kopf.index(GROUP, VERSION, "functions", id="quota_claims", registry=registry)
    async def function_claim(body: kopf.Body, **_: Any) -> None:
        claim = claim_of(body)
        quotas.set_claim(claim.key, claim)

    # A published version's pods are its own: what its snapshot reserves and provisions
    # counts against the namespace's quota as a Function's does.
    @kopf.index(
        GROUP, VERSION, function_version.PLURAL, id="quota_version_claims", registry=registry
    )
    async def version_claim(body: kopf.Body, **_: Any) -> None:
        claim = claim_of(function_version.as_function_body(body))
        quotas.set_claim(claim.key, claim)

    # kopf calls no index handler for a deletion: these see them.
    @kopf.on.event(GROUP, VERSION, "functions", id="quota_claims_gone", registry=registry)
    async def function_gone(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
        if event.get("type") == "DELETED":
            claim = claim_of(body)
            quotas.drop_claim(claim.key, claim.uid)

    @kopf.on.event(
        GROUP, VERSION, function_version.PLURAL, id="quota_version_claims_gone", registry=registry
    )
    async def version_gone(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
        if event.get("type") == "DELETED":
            claim = claim_of(function_version.as_function_body(body))
            quotas.drop_claim(claim.key, claim.uid)

    @kopf.index(GROUP, VERSION, api.PLURAL, id="quota_specs", registry=registry)  # type: ignore[arg-type]
    async def quota_seen(body: kopf.Body, namespace: str, name: str, **_: Any) -> None:
        spec = quota_spec(body)
        if isinstance(spec, str):
            log.warning("%s", spec)
        quotas.quotas[namespace, name] = _Quota(
            generation=int(body["metadata"].get("generation") or 0),
            spec=None if isinstance(spec, str) else spec,
            status=dict(body.get("status") or {}),
        )
        quotas.changed.set()

    @kopf.on.event(GROUP, VERSION, api.PLURAL, id="quota_specs_gone", registry=registry)  # type: ignore[arg-type]
    async def quota_gone(event: kopf.RawEvent, namespace: str, name: str, **_: Any) -> None:
        if event.get("type") == "DELETED":
            quotas.quotas.pop((namespace, name), None)
            quotas.changed.set()

    # kopf holds every other handler until all index handlers have taken in the first
    # listing, so this one's first call (the operator's namespace always exists) says the
    # maps are complete.
    @kopf.on.event(
        "namespaces",
        field="metadata.name",
        value=settings.namespace,
        id="quota_listed",
        registry=registry,
    )
    async def listed(**_: Any) -> None:
        quotas.listed.set()

    if settings.webhook_service:
        _register_webhook(registry, quotas, tls, settings, manage=manage)
    return quotas


def _register_webhook(
    registry: kopf.OperatorRegistry,
    quotas: Quotas,
    tls: TlsObjects,
    operator: Settings,
    *,
    manage: bool,
) -> None:
    runtimes = operator.runtimes

    @kopf.on.startup(id="webhook", registry=registry, backoff=5)
    async def serve_webhook(settings: kopf.OperatorSettings, **_: Any) -> None:
        # Serve the webhook with the replicas' shared certificate.
        certificate = await webhook_certificate(
            tls, operator.webhook_service, operator.namespace, datetime.now(UTC)
        )
        settings.admission.server = ServiceWebhookServer(
            service=operator.webhook_service,
            namespace=operator.namespace,
            port=operator.webhook_port,
            folder=Path(tempfile.gettempdir()) / "kappa-webhook",
            certificate=certificate,
        )
        if manage:
            settings.admission.managed = WEBHOOK_CONFIGURATION

    # persistent: kopf leaves them in the configuration when the leader stops, as the
    # other replicas still answer them.
    @kopf.on.validate(
        GROUP,
        VERSION,
        "functions",
        id="runtimes",
        operations=["CREATE", "UPDATE"],
        ignore_failures=True,
        persistent=True,
        registry=registry,
    )
    def admit_runtime(body: kopf.Body, **_: Any) -> None:
        why = runtime_refusal(body, runtimes) or subject_refusal(body)
        if why is not None:
            raise kopf.AdmissionError(why, code=403)

    @kopf.on.validate(  # type: ignore[arg-type]
        GROUP,
        VERSION,
        "functions",
        id="quota",
        operations=["CREATE", "UPDATE"],
        ignore_failures=True,
        persistent=True,
        registry=registry,
    )
    def admit(body: kopf.Body, old: kopf.Body | None, warnings: list[str], **_: Any) -> None:
        why = quotas.admission(claim_of(body), claim_of(old) if old else None)
        if why is not None:
            raise kopf.AdmissionError(why, code=403)
        if not quotas.listed.is_set():
            warnings.append(NOT_LISTED)


class ServiceWebhookServer(kopf.WebhookServer):
    """kopf's HTTPS server, announced to the API server by Service instead of by URL.

    There is no cluster DNS; the API server resolves a Service reference itself (to its
    ClusterIP), so the configuration stays right when the operator's pod moves.
    """

    def __init__(
        self, *, service: str, namespace: str, port: int, folder: Path, certificate: Certificate
    ) -> None:
        cert, key = folder / "tls.crt", folder / "tls.key"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        key.touch(mode=0o600)
        key.write_bytes(certificate.key_pem)
        cert.write_bytes(certificate.cert_pem)
        super().__init__(addr="0.0.0.0", port=port, certfile=str(cert), pkeyfile=str(key))  # noqa: S104
        self._service = {"name": service, "namespace": namespace, "port": 443}

    async def __call__(self, fn: Any) -> AsyncIterator[Any]:
        """Kopf's client configs, with the Service in place of the URL."""
        async for config in super().__call__(refusing_malformed(fn)):
            yield {"caBundle": config.get("caBundle"), "service": dict(self._service)}


def refusing_malformed(fn: Any) -> Any:
    """The review function kopf serves, behind a 400 for a review kopf cannot read (its 500)."""

    async def checked(request: object, **kwargs: Any) -> Any:
        problem = review_problem(request)
        if problem is not None:
            log.info("admission webhook: a malformed review refused: %s", problem)
            raise aiohttp.web.HTTPBadRequest(text=f"{problem}\n")
        return await fn(request, **kwargs)

    return checked


async def _loop(functions: HeldFunctions, objects: QuotaObjects, quotas: Quotas) -> None:
    while True:
        await quotas.changed.wait()
        quotas.changed.clear()
        try:
            await _settle(functions, objects, quotas)
        except Exception:  # a failed pass must not end the loop
            log.exception("settling the quotas failed")
            quotas.changed.set()
        await asyncio.sleep(SETTLE_SECONDS)


async def _usage_loop(quotas: Quotas) -> None:
    while True:
        await asyncio.sleep(USAGE_SECONDS)
        quotas.refresh_usage()


async def _settle(functions: HeldFunctions, objects: QuotaObjects, quotas: Quotas) -> None:
    """Hold the Functions that do not fit; write the quotas' status where it changed."""
    namespaces = {ns for ns, _ in quotas.quotas}
    limits = {ns: got for ns in namespaces if (got := quotas.limits(ns)) is not None}
    result = held(list(quotas.claims.values()), limits, quotas.cluster_limits)
    holds = functions.holds()
    for key in holds.keys() - result.messages.keys():
        functions.hold(key, None)
        functions.wake(key)
    for key, message in result.messages.items():
        if holds.get(key) != message:
            functions.hold(key, message)
            # Only a Function the reconciler knows is woken (and gets its Event).
            functions.wake(key)
            body = functions.body(key)
            if key not in holds and body is not None:
                await _post_event(objects, body, message)
    now = datetime.now(UTC)
    for (namespace, name), found in list(quotas.quotas.items()):
        if found.spec is None:
            continue
        held_here = {n: m for (ns, n), m in result.messages.items() if ns == namespace}
        status = quota_status(
            found.spec,
            quotas.namespace_sums.get(namespace, Sums()),
            held_here,
            quotas.slots(namespace),
            generation=found.generation,
            now=now,
            previous=list(found.status.get("conditions") or []),
            usage=quotas.shown_usage.get(namespace, {}),
            since=quotas.started,
        )
        if any(found.status.get(k) != v for k, v in status.items()):
            try:
                await objects.patch_quota_status(namespace, name, status)
            except ApiException as exc:
                log.warning("cannot write the status of quota %s/%s: %s", namespace, name, exc)
                continue
            found.status = status


async def _post_event(objects: QuotaObjects, body: Mapping[str, Any], message: str) -> None:
    try:
        await objects.post_event(body, reason="QuotaExceeded", message=message, warning=True)
    except ApiException as exc:
        log.warning("cannot post QuotaExceeded on %s: %s", body["metadata"]["name"], exc.reason)
