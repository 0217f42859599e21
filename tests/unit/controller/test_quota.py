"""The quota shell against a fake `Objects`: sums kept as claims change, the webhook's answer,
which Functions it holds (and wakes), and the status it writes."""

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import kopf
import pytest

from kappa.api.quota import ConcurrencyQuotaSpec
from kappa.controller.quota import (
    NOT_LISTED,
    PodUse,
    PodUses,
    Quotas,
    _Quota,
    _settle,
    register_admission,
)
from kappa.controller.state import State
from kappa.quota.claims import Claim, Sums
from kappa.quota.limits import ClusterLimits
from kappa.quota.usage import Usage
from kappa.settings import Settings


@dataclass
class FakeObjects:
    statuses: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)

    async def patch_quota_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        self.statuses.append((namespace, name, status))

    async def post_event(self, body: dict[str, Any], *, reason: str, **_: Any) -> None:
        self.events.append((body["metadata"]["name"], reason))


def quotas_with(*claims: Claim) -> Quotas:
    quotas = Quotas(ClusterLimits(1000, 100))
    for claim in claims:
        quotas.set_claim(claim.key, claim)
    return quotas


def test_sums_follow_claims_as_they_change() -> None:
    quotas = quotas_with(Claim("a", "x", reserved=3), Claim("a", "y", provisioned=2))
    quotas.set_claim(("b", "z"), Claim("b", "z", reserved=1))
    quotas.set_claim(("a", "x"), Claim("a", "x", reserved=5))
    quotas.set_claim(("a", "y"), None)
    assert quotas.namespace_sums["a"] == Sums(reserved=5, claimed=5, functions=1)
    assert quotas.cluster_sums == Sums(reserved=6, claimed=6, functions=2)
    assert quotas.changed.is_set()


def test_admission_counts_the_others_not_the_function_itself() -> None:
    quotas = quotas_with(Claim("a", "x", reserved=3), Claim("a", "y", reserved=2))
    quotas.quotas["a", "default"] = _Quota(
        1, ConcurrencyQuotaSpec(max_concurrency=10, max_reserved=5), {}
    )
    # x grows from 3 to 4 next to y's 2: 6 > 5.
    refused = quotas.admission(Claim("a", "x", reserved=4), Claim("a", "x", reserved=3))
    assert refused is not None
    assert "to 6, over its ConcurrencyQuota's maxReserved 5 (3 left)" in refused
    assert quotas.admission(Claim("a", "x", reserved=3), Claim("a", "x", reserved=2)) is None
    assert quotas.admission(Claim("b", "new", reserved=400), None) is None  # no quota in b


def test_settle_holds_what_does_not_fit_and_writes_the_status() -> None:
    objects = FakeObjects()
    state = State(objects=objects, settings=Settings())  # type: ignore[arg-type]
    early = Claim("a", "early", provisioned=2, created="1", uid="u-early")
    late = Claim("a", "late", provisioned=2, created="2")
    quotas = quotas_with(early, late)
    spec = ConcurrencyQuotaSpec(max_concurrency=10, max_provisioned=3)
    quotas.quotas["a", "default"] = _Quota(2, spec, {})
    quotas.pods["a", "early-1"] = PodUse(("a", "early"), owner="u-early", ready=True)
    state.memory.recall(("a", "late")).body = {"metadata": {"name": "late", "namespace": "a"}}
    quotas.set_claim(("a", "gone"), Claim("a", "gone", provisioned=9, created="3"))

    woken: list[tuple[str, str]] = []
    state.memory.on_wake = woken.append
    asyncio.run(_settle(state.memory, state.objects, quotas))

    assert set(state.memory.holds()) == {("a", "late"), ("a", "gone")}
    assert woken == [("a", "late")]  # not ("a", "gone"): no Function seen, nothing to pass
    assert objects.events == [("late", "QuotaExceeded")]
    ((namespace, name, status),) = objects.statuses
    assert (namespace, name) == ("a", "default")
    assert (status["provisioned"], status["slots"]) == (13, 1)
    assert status["overQuota"] == ["gone", "late"]
    assert status["conditions"][0]["reason"] == "OverQuota"

    # Nothing changed: nothing written, no second event. Raised: released, and woken.
    asyncio.run(_settle(state.memory, state.objects, quotas))
    assert len(objects.statuses) == 1
    quotas.set_claim(("a", "gone"), None)
    quotas.quotas["a", "default"].spec = ConcurrencyQuotaSpec(max_concurrency=10)
    woken.clear()
    asyncio.run(_settle(state.memory, state.objects, quotas))
    assert state.memory.holds() == {}
    assert woken == [("a", "late")]
    assert objects.events == [("late", "QuotaExceeded")]
    assert objects.statuses[-1][2]["conditions"][0]["reason"] == "WithinQuota"


def test_pod_slots_come_from_the_controlling_functions_spec_not_the_pod() -> None:
    """Slots are the Function's perPod, and only for pods it controls: a pod merely
    labelled as a Function's (no ownerReference, or another uid) takes no room."""
    quotas = quotas_with(Claim("a", "fn", per_pod=4, uid="u-fn"))
    quotas.quotas["a", "default"] = _Quota(1, ConcurrencyQuotaSpec(max_concurrency=10), {})
    quotas.pods["a", "fn-1"] = PodUse(("a", "fn"), owner="u-fn", ready=True)
    quotas.pods["a", "fn-2"] = PodUse(("a", "fn"), owner="u-fn", ready=False)  # starting
    quotas.pods["a", "rogue"] = PodUse(("a", "fn"), owner=None, ready=True)
    quotas.pods["a", "forged"] = PodUse(("a", "fn"), owner="u-other", ready=True)
    quotas.pods["a", "orphan"] = PodUse(("a", "gone"), owner="u-gone", ready=True)
    assert quotas.slots("a") == 4  # the one ready pod it controls
    assert quotas.headroom(("a", "fn")) == 2  # 10 - (4 ready + 4 starting)


def test_pod_uses_are_grouped_by_namespace_as_they_come_and_go() -> None:
    pods = PodUses()
    pods["a", "p1"] = PodUse(("a", "fn"), owner="u", ready=True)
    pods["a", "p2"] = PodUse(("a", "fn"), owner="u", ready=False)
    pods["b", "p1"] = PodUse(("b", "fn"), owner="v", ready=True)
    pods["a", "p1"] = PodUse(("a", "fn"), owner="u", ready=False)  # replaced, not added
    assert pods.in_namespace("a") == [
        PodUse(("a", "fn"), owner="u", ready=False),
        PodUse(("a", "fn"), owner="u", ready=False),
    ]
    assert pods.pop(("a", "p1")) == PodUse(("a", "fn"), owner="u", ready=False)
    assert pods.pop(("a", "gone")) is None
    assert pods.pop(("a", "p2")) is not None
    assert pods.in_namespace("a") == []
    assert pods.in_namespace("b") == [PodUse(("b", "fn"), owner="v", ready=True)]
    assert dict(pods) == {("b", "p1"): PodUse(("b", "fn"), owner="v", ready=True)}


def test_usage_is_written_from_the_copy_taken_not_from_every_report() -> None:
    objects = FakeObjects()
    state = State(objects=objects, settings=Settings())  # type: ignore[arg-type]
    quotas = quotas_with()
    quotas.quotas["a", "default"] = _Quota(1, ConcurrencyQuotaSpec(max_concurrency=10), {})
    since = quotas.started.timestamp()
    quotas.usage.record("g1", since + 1, {("a", "x"): Usage(2, 300, 300 * 512)}, now=since + 2)
    quotas.usage.record("g1", since + 1, {("b", "y"): Usage(1, 1, 128)}, now=since + 2)
    quotas.changed.clear()

    asyncio.run(_settle(state.memory, state.objects, quotas))
    ((_, _, first),) = objects.statuses
    assert first["usage"]["requests"] == 0  # not copied yet

    quotas.refresh_usage()
    assert quotas.changed.is_set()
    asyncio.run(_settle(state.memory, state.objects, quotas))
    usage = objects.statuses[-1][2]["usage"]
    assert (usage["requests"], usage["gbSeconds"]) == (2, 0.15)
    assert [f["name"] for f in usage["functions"]] == ["x"]  # b's Function is not a's

    quotas.changed.clear()
    quotas.refresh_usage()  # nothing new: no wake, no write
    assert not quotas.changed.is_set()
    asyncio.run(_settle(state.memory, state.objects, quotas))
    assert len(objects.statuses) == 2


def test_beginning_to_lead_starts_the_usage_again() -> None:
    quotas = quotas_with()
    quotas.quotas["a", "default"] = _Quota(1, ConcurrencyQuotaSpec(max_concurrency=10), {})
    since = quotas.started.timestamp()
    quotas.usage.record("g1", since, {("a", "x"): Usage(2, 300, 300 * 512)}, now=since + 1)
    quotas.refresh_usage()
    later = datetime.fromtimestamp(since + 60, UTC)
    quotas.begin_usage(later)
    assert (quotas.started, quotas.usage.since) == (later, since + 60)
    assert quotas.usage.namespace("a") == {}
    assert quotas.shown_usage == {}


def test_a_deletion_drops_the_claim_of_that_function_not_of_one_made_again() -> None:
    quotas = quotas_with(Claim("a", "x", reserved=3, uid="old"))
    # The Function was deleted and made again under its name; the old one's deletion
    # comes after the new one's creation.
    quotas.set_claim(("a", "x"), Claim("a", "x", reserved=4, uid="new"))
    quotas.drop_claim(("a", "x"), "old")
    assert quotas.claims["a", "x"].uid == "new"
    assert quotas.namespace_sums["a"].reserved == 4
    quotas.drop_claim(("a", "x"), "new")
    assert ("a", "x") not in quotas.claims
    assert quotas.namespace_sums["a"].reserved == 0


def webhook_registry(**settings: Any) -> tuple[kopf.OperatorRegistry, Quotas]:
    registry = kopf.OperatorRegistry()
    config = Settings(webhook_service="kappa-operator-webhook", **settings)
    quotas = register_admission(registry, FakeTls(), config, manage=False)
    return registry, quotas


class FakeTls:
    async def kept_secret_data(self, *_: Any, **__: Any) -> dict[str, bytes]:
        raise AssertionError("not called: registering only")


def function_body(name: str, reserved: int, uid: str = "u") -> dict[str, Any]:
    return {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": "Function",
        "metadata": {"namespace": "a", "name": name, "uid": uid},
        "spec": {"concurrency": {"reserved": reserved}},
    }


def admit(registry: kopf.OperatorRegistry, body: dict[str, Any]) -> list[str]:
    """The quota webhook's answer to a CREATE of ``body``: its warnings, or AdmissionError."""
    handler = next(h for h in registry._webhooks.get_all_handlers() if h.id == "quota")  # noqa: SLF001
    warnings: list[str] = []
    handler.fn(body=kopf.Body(body), old=None, warnings=warnings)
    return warnings


def test_the_webhook_answers_from_what_it_listed_and_warns_until_it_has_listed_all() -> None:
    registry, quotas = webhook_registry()
    quotas.quotas["a", "q"] = _Quota(
        1, ConcurrencyQuotaSpec(max_concurrency=10, max_reserved=5), {}
    )
    quotas.set_claim(("a", "x"), Claim("a", "x", reserved=3, uid="x"))
    # Not all listed yet: what the partial sums refuse is refused ...
    with pytest.raises(kopf.AdmissionError, match="maxReserved 5"):
        admit(registry, function_body("y", 3))
    # ... and what they let through is admitted with a warning that kubectl prints.
    assert admit(registry, function_body("y", 2)) == [NOT_LISTED]
    quotas.listed.set()
    assert admit(registry, function_body("y", 2)) == []
    with pytest.raises(kopf.AdmissionError, match="maxReserved 5"):
        admit(registry, function_body("y", 3))


def test_a_replica_registers_the_claims_the_mark_and_webhooks_kopf_leaves_in_place() -> None:
    registry, _ = webhook_registry(namespace="kappa-system")
    webhooks = registry._webhooks.get_all_handlers()  # noqa: SLF001
    assert {h.id for h in webhooks} == {"quota", "runtimes"}
    # Left in the configuration when the leader stops: the other replicas still answer.
    assert all(h.persistent for h in webhooks)
    indexing = registry._indexing.get_all_handlers()  # noqa: SLF001
    assert {(h.selector.any_name, h.id) for h in indexing} == {
        ("functions", "quota_claims"),
        ("functionversions", "quota_version_claims"),
        ("concurrencyquotas", "quota_specs"),
    }
    watching = registry._watching.get_all_handlers()  # noqa: SLF001
    # No pods: a standby holds only what the webhook answers from.
    assert {h.selector.any_name for h in watching} == {
        "functions", "functionversions", "concurrencyquotas", "namespaces",
    }  # fmt: skip
    listed = next(h for h in watching if h.selector.any_name == "namespaces")
    assert (listed.field, listed.value) == (("metadata", "name"), "kappa-system")
    # Without a webhook service, no webhook (and no certificate to read).
    bare = kopf.OperatorRegistry()
    register_admission(bare, FakeTls(), Settings(), manage=False)
    assert bare._webhooks.get_all_handlers() == []  # noqa: SLF001
