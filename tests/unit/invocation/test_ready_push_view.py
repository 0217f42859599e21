"""Agents' readiness pushes in the gateway's view of the cluster (kube_view.KubeView.agent_ready)."""

from typing import Any

import pytest

from kappa.invocation.kube_view import KubeView
from kappa.invocation.registry import PushOutcome
from kappa.invocation.routing import Endpoint
from tests.unit.invocation.test_kube_view import ECHO, REGION, fn, pod

pytestmark = pytest.mark.unit

UID = "0b6c1f2e-8d0a-4c1e-9a55-3f0e7a1d2c44"


def new_pod(
    *, ip: str | None = None, uid: str = UID, phase: str = "Pending", **more: Any
) -> dict[str, Any]:
    """The Function's pod as the watch first reports it: scheduled, no IP, not Ready."""
    obj = pod(ip=ip, ready=None, phase=phase, **more)
    obj["metadata"]["uid"] = uid
    return obj


def view_with_new_pod() -> KubeView:
    view = KubeView(REGION)
    view.function_event("ADDED", fn())
    view.pod_event("ADDED", new_pod())
    assert view.endpoints(ECHO) == ()  # no IP: nothing to route to yet
    return view


def test_a_push_of_a_new_pod_routes_to_its_source_address_not_yet_ready() -> None:
    view = view_with_new_pod()
    assert view.agent_ready("team", "echo-abc", UID, "10.0.0.9") is PushOutcome.ACCEPTED
    assert list(view.endpoints(ECHO)) == [Endpoint("echo-abc", "10.0.0.9:8080", 1, ready=False)]
    assert view.changed_by_push("team", "echo-abc") == {ECHO}


def test_the_pushed_address_stands_until_the_kubelet_reports_the_same_one() -> None:
    view = view_with_new_pod()
    view.agent_ready("team", "echo-abc", UID, "10.0.0.9")
    still_pending = view.pod_event("MODIFIED", new_pod())
    assert still_pending.changed == frozenset()
    assert [e.address for e in view.endpoints(ECHO)] == ["10.0.0.9:8080"]
    reported = new_pod(ip="10.0.0.9")
    reported["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    applied = view.pod_event("MODIFIED", reported)
    assert applied.problems == ()
    assert list(view.endpoints(ECHO)) == [Endpoint("echo-abc", "10.0.0.9:8080", 1, ready=True)]


def test_a_kubelet_address_other_than_the_pushed_one_wins_and_is_reported() -> None:
    view = view_with_new_pod()
    view.agent_ready("team", "echo-abc", UID, "10.0.0.66")
    applied = view.pod_event("MODIFIED", new_pod(ip="10.0.0.9"))
    assert [e.address for e in view.endpoints(ECHO)] == ["10.0.0.9:8080"]
    assert len(applied.problems) == 1
    assert "10.0.0.66" in applied.problems[0]


@pytest.mark.parametrize(
    ("namespace", "name", "uid", "outcome"),
    [
        pytest.param("team", "echo-abc", "0b6c1f2e-0000-4c1e-9a55-3f0e7a1d2c44", PushOutcome.REFUSED,
                     id="another-uid"),
        pytest.param("team", "echo-zzz", UID, PushOutcome.UNKNOWN, id="no-such-pod"),
        pytest.param("other", "echo-abc", UID, PushOutcome.UNKNOWN, id="another-namespace"),
    ],
)  # fmt: skip
def test_a_push_that_is_not_the_pods_own_changes_nothing(
    namespace: str, name: str, uid: str, outcome: PushOutcome
) -> None:
    view = view_with_new_pod()
    assert view.agent_ready(namespace, name, uid, "10.0.0.66") is outcome
    assert view.endpoints(ECHO) == ()


def test_a_push_of_a_pod_with_an_address_already_changes_nothing() -> None:
    view = KubeView(REGION)
    view.function_event("ADDED", fn())
    view.pod_event("ADDED", new_pod(ip="10.0.0.7"))
    assert view.agent_ready("team", "echo-abc", UID, "10.0.0.66") is PushOutcome.KNOWN
    assert [e.address for e in view.endpoints(ECHO)] == ["10.0.0.7:8080"]


@pytest.mark.parametrize(
    "obj",
    [
        pytest.param(new_pod(deleting=True), id="terminating"),
        pytest.param(new_pod(phase="Failed"), id="ended"),
        pytest.param(new_pod(function=None), id="no-function"),
    ],
)
def test_only_a_live_function_pod_without_an_address_takes_a_push(obj: dict[str, Any]) -> None:
    view = KubeView(REGION)
    view.function_event("ADDED", fn())
    view.pod_event("ADDED", obj)
    assert view.agent_ready("team", "echo-abc", UID, "10.0.0.9") is PushOutcome.UNKNOWN
    assert view.endpoints(ECHO) == ()


def test_a_pushed_pod_that_goes_away_is_forgotten() -> None:
    view = view_with_new_pod()
    view.agent_ready("team", "echo-abc", UID, "10.0.0.9")
    view.pod_event("MODIFIED", new_pod(deleting=True))
    assert view.endpoints(ECHO) == ()
    view.pod_event("DELETED", new_pod(deleting=True))
    assert view.agent_ready("team", "echo-abc", UID, "10.0.0.9") is PushOutcome.UNKNOWN


def test_a_pod_of_a_function_that_does_not_control_it_is_pushed_but_not_routed() -> None:
    view = KubeView(REGION)
    view.function_event("ADDED", fn())
    view.pod_event("ADDED", new_pod(owner="uid-of-something-else"))
    assert view.agent_ready("team", "echo-abc", UID, "10.0.0.9") is PushOutcome.ACCEPTED
    assert view.endpoints(ECHO) == ()
