"""The operator's view of warm pools and their pods, from watch events."""

from typing import Any

import pytest

from kappa.controller.pool_registry import PoolRegistry

pytestmark = pytest.mark.unit


def pool(name: str = "py", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "team", "name": name, "uid": f"u-{name}", "generation": 2},
        "spec": {"runtime": "python3.11", "memoryMB": 256, **spec},
    }


def pod(
    name: str, *, ready: bool = True, pool_name: str | None = "py", **meta: Any
) -> dict[str, Any]:
    labels = {"kappa.dev/component": "pool"}
    if pool_name is not None:
        labels["kappa.dev/pool"] = pool_name
    return {
        "metadata": {"namespace": "team", "name": name, "labels": labels, "resourceVersion": "7",
                     "creationTimestamp": "2026-12-04T08:00:00Z", **meta},
        "spec": {"containers": [{"env": [{"name": "KAPPA_POOL_TOKEN_SHA256", "value": "ab" * 32}]}]},
        "status": {"podIP": "10.0.0.9",
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }  # fmt: skip


def test_pools_give_their_classes_and_a_bad_spec_is_left_out() -> None:
    registry = PoolRegistry()
    assert registry.pool_changed(pool()) is None
    [found] = registry.classes("team")
    assert (found.name, found.runtime, found.memory_mb, found.ephemeral_storage_mb) == (
        "py", "python3.11", 256, 512
    )  # fmt: skip
    assert registry.classes("other") == []
    assert registry.pool_changed(pool("bad", runtime="image")) is not None
    assert [c.name for c in registry.classes("team")] == ["py"]
    registry.pool_changed(pool(), deleted=True)
    assert registry.classes("team") == []


def test_claimable_pods_are_ready_known_and_not_being_claimed_or_deleted() -> None:
    registry = PoolRegistry()
    registry.pod_changed(pod("a"))
    registry.pod_changed(pod("b", ready=False))
    registry.pod_changed(pod("c", deletionTimestamp="2026-12-04T08:01:00Z"))
    registry.pod_changed(pod("d"))
    key = ("team", "py")
    assert [p.name for p in registry.claimable(key)] == ["a", "d"]
    assert registry.claimable(key)[0].digest == "ab" * 32
    assert registry.claimable(key)[0].token is None
    registry.claiming.add("a")
    assert [p.name for p in registry.claimable(key)] == ["d"]
    assert sorted(p.name for p in registry.live(key)) == ["b", "d"]


def test_a_claimed_pod_leaves_its_pool_and_claims_are_counted() -> None:
    registry = PoolRegistry()
    registry.pod_changed(pod("a"))
    registry.claiming.add("a")
    registry.pod_changed(pod("a", pool_name=None))  # the claim patch removed the label
    assert registry.pods[("team", "py")] == {}
    assert "a" not in registry.claiming
    registry.claimed(("team", "py"), 100.0)
    registry.claimed(("team", "py"), 101.0)
    assert registry.claims[("team", "py")] == [100.0, 101.0]
    assert registry.claimed_total[("team", "py")] == 2


def test_a_pool_pod_made_before_digests_is_claimed_with_the_token_it_holds() -> None:
    registry = PoolRegistry()
    old = pod("old")
    old["spec"] = {"containers": [{"env": [{"name": "KAPPA_POOL_TOKEN", "value": "t" * 43}]}]}
    registry.pod_changed(old)
    [found] = registry.claimable(("team", "py"))
    assert (found.token, found.digest) == ("t" * 43, None)


def test_a_pod_without_token_or_digest_is_not_claimable() -> None:
    registry = PoolRegistry()
    bare = pod("bare")
    bare["spec"] = {"containers": [{"env": []}]}
    registry.pod_changed(bare)
    assert registry.claimable(("team", "py")) == []
