"""Published versions and aliases as the gateway's view holds them (kube_view), and the
Registry keys a qualifier sends a call to (qualifier)."""

from typing import Any

import pytest

from kappa.invocation.function_name import FunctionRef
from kappa.invocation.kube_view import KubeView, alias_route, version_summary
from kappa.invocation.qualifier import AliasRoute, is_number, names_alias, pick_version, target
from kappa.invocation.routing import Endpoint
from tests.unit.invocation.test_kube_view import REGION, fn, pod

ARN = "arn:aws:lambda:eu-west-1:team:function:echo"


def version(number: int, *, uid: str | None = None, **spec: Any) -> dict[str, Any]:
    """FunctionVersion ``echo.<number>`` of namespace team, its snapshot ``fn()``'s spec."""
    return {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": "FunctionVersion",
        "metadata": {
            "name": f"echo.{number}",
            "namespace": "team",
            "uid": uid or f"uid-v{number}",
            "creationTimestamp": "2024-05-01T12:00:00Z",
        },
        "spec": {"function": "echo", "version": number, "snapshot": fn()["spec"], **spec},
    }


def version_pod(name: str, number: int, *, owner_uid: str) -> dict[str, Any]:
    found = pod(name)
    found["metadata"]["labels"]["kappa.dev/version"] = str(number)
    found["metadata"]["ownerReferences"] = [
        {"apiVersion": "kappa.dev/v1alpha1", "kind": "FunctionVersion",
         "name": f"echo.{number}", "uid": owner_uid, "controller": True}
    ]  # fmt: skip
    return found


def alias(name: str = "live", version_: str = "1", **weights: float) -> dict[str, Any]:
    spec: dict[str, Any] = {"function": "echo", "functionVersion": version_}
    if weights:
        spec["routingConfig"] = {
            "additionalVersionWeights": {k.removeprefix("v"): w for k, w in weights.items()}
        }
    return {
        "metadata": {"name": f"echo.{name}", "namespace": "team"},
        "spec": spec,
    }


def test_a_version_is_held_under_its_number_with_a_qualified_arn() -> None:
    summary = version_summary(version(2, reservedConcurrency=3), REGION)
    assert not isinstance(summary, str)
    assert summary.key == ("team", "echo.2")
    assert (summary.name, summary.version) == ("echo", "2")
    assert summary.arn == f"{ARN}:2"
    assert summary.reserved == 3  # the version's own, not the snapshot's


def test_a_version_is_as_durable_as_its_snapshot() -> None:
    durable = version(3)
    durable["spec"]["snapshot"]["durable"] = {"executionTimeoutSeconds": 60}
    summary = version_summary(durable, REGION)
    assert not isinstance(summary, str)
    assert summary.durable is not None
    assert (summary.durable.execution_timeout_seconds, summary.durable.retention_period_in_days) == (
        60, 14,
    )  # fmt: skip
    plain = version_summary(version(4), REGION)
    assert not isinstance(plain, str)
    assert plain.durable is None


def test_versions_route_to_their_own_pods_and_stay_out_of_the_function_list() -> None:
    view = KubeView(REGION)
    view.function_event("ADDED", fn())
    applied = view.version_event("ADDED", version(1))
    assert applied.changed == {("team", "echo.1")}
    view.pod_event("ADDED", pod("echo-latest"))
    view.pod_event("ADDED", version_pod("echo.1-abc", 1, owner_uid="uid-v1"))
    # A pod labelled as version 1 but not controlled by that FunctionVersion gets no call.
    view.pod_event("ADDED", version_pod("rogue", 1, owner_uid="uid-team-echo"))
    assert [e.pod for e in view.endpoints(("team", "echo"))] == ["echo-latest"]
    assert list(view.endpoints(("team", "echo.1"))) == [Endpoint("echo.1-abc", "10.0.0.7:8080", 1)]
    assert [spec.key for spec in view.functions()] == [("team", "echo")]
    held = view.function(("team", "echo.1"))
    assert held is not None
    assert held.version == "1"
    view.version_event("DELETED", version(1))
    assert view.function(("team", "echo.1")) is None
    assert view.endpoints(("team", "echo.1")) == ()


def test_resyncing_versions_leaves_the_functions_alone() -> None:
    view = KubeView(REGION)
    view.function_event("ADDED", fn())
    view.version_event("ADDED", version(1))
    view.version_event("ADDED", version(2))
    applied = view.resync_versions([version(2)])
    assert applied.changed == {("team", "echo.1")}
    assert view.function(("team", "echo")) is not None
    assert view.function(("team", "echo.1")) is None
    assert view.function(("team", "echo.2")) is not None


def test_aliases_are_held_by_function_and_name_and_replaced_on_change() -> None:
    view = KubeView(REGION)
    view.alias_event("ADDED", alias("live", "1", v2=0.1))
    assert view.alias("team", "echo", "live") == AliasRoute("1", (("2", 0.1),))
    view.alias_event("MODIFIED", alias("live", "2"))
    assert view.alias("team", "echo", "live") == AliasRoute("2")
    view.alias_event("DELETED", alias("live", "2"))
    assert view.alias("team", "echo", "live") is None
    view.alias_event("ADDED", alias("beta", "1"))
    view.resync_aliases([alias("live", "3")])
    assert view.alias("team", "echo", "beta") is None
    assert view.alias("team", "echo", "live") == AliasRoute("3")


@pytest.mark.parametrize(
    ("obj", "problem"),
    [
        pytest.param({"metadata": {"name": "echo.2", "namespace": "team"},
                      "spec": {"function": "echo", "functionVersion": "1"}},
                     "metadata.name", id="a-number-as-alias"),
        pytest.param({"metadata": {"name": "other.live", "namespace": "team"},
                      "spec": {"function": "echo", "functionVersion": "1"}},
                     "metadata.name", id="another-functions-name"),
        pytest.param(alias("live", "1", v1=0.5), "another version", id="weight-on-itself"),
        pytest.param(alias("live", "1", v2=1.5), "less than or equal to 1", id="weight-over-1"),
        pytest.param(alias("live", "x"), "$LATEST or a published", id="not-a-version"),
    ],
)  # fmt: skip
def test_an_alias_the_schema_refuses_is_ignored_and_says_why(
    obj: dict[str, Any], problem: str
) -> None:
    found = alias_route(obj)
    assert isinstance(found, str)
    assert problem in found
    view = KubeView(REGION)
    assert view.alias_event("ADDED", obj).problems == (found,)
    assert view.aliases == {}


def test_a_qualifier_names_the_function_a_version_or_an_aliass_pick() -> None:
    canary = AliasRoute("1", (("2", 0.25),))
    assert target(FunctionRef("team", "echo"), None, 0.0) == ("team", "echo")
    assert target(FunctionRef("team", "echo", "7"), None, 0.0) == ("team", "echo.7")
    assert target(FunctionRef("team", "echo", "live"), canary, 0.1) == ("team", "echo.2")
    assert target(FunctionRef("team", "echo", "live"), canary, 0.25) == ("team", "echo.1")
    assert target(FunctionRef("team", "echo", "live"), AliasRoute("$LATEST"), 0.5) == (
        "team",
        "echo",
    )
    assert target(FunctionRef("team", "echo", "gone"), None, 0.5) is None


def test_an_alias_splits_calls_by_its_weights() -> None:
    route = AliasRoute("1", (("2", 0.1),))
    draws = [i / 1000 for i in range(1000)]  # uniform over [0, 1)
    picked = [pick_version(route, d) for d in draws]
    assert picked.count("2") == 100
    assert picked.count("1") == 900
    assert {pick_version(AliasRoute("1", (("2", 0.0),)), d) for d in draws} == {"1"}
    assert {pick_version(AliasRoute("1", (("2", 1.0),)), d) for d in draws} == {"2"}


@pytest.mark.parametrize(
    ("qualifier", "number", "alias"),
    [("$LATEST", False, False), ("7", True, False), ("live", False, True),
     ("²", False, True), ("12a", False, True)],
)  # fmt: skip
def test_what_a_qualifier_can_name(qualifier: str, *, number: bool, alias: bool) -> None:
    assert is_number(qualifier) is number
    assert names_alias(qualifier) is alias


def test_several_additional_versions_take_their_shares_in_order() -> None:
    route = AliasRoute("1", (("2", 0.2), ("3", 0.3)))
    assert [pick_version(route, d) for d in (0.0, 0.19, 0.2, 0.49, 0.5, 0.99)] == [
        "2", "2", "3", "3", "1", "1"
    ]  # fmt: skip
