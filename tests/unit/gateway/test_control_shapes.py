"""The Lambda control-plane API's routes, bodies and answers (pure parts)."""

from typing import Any

import pytest

from kappa.auth.access import Access, Verb
from kappa.gateway import control_shapes
from kappa.gateway.control_routes import (
    ALIAS_ROUTE,
    ALIASES_ROUTE,
    CONCURRENCY_PUT_ROUTE,
    PROVISIONED_ROUTE,
    VERSIONS_ROUTE,
    control_access,
)
from kappa.invocation.errors import GatewayError


@pytest.mark.parametrize(
    ("method", "route", "match", "access"),
    [
        ("POST", VERSIONS_ROUTE, {"function_name": "team/hello"},
         Access(Verb.CREATE, "team", "", plural="functionversions")),
        ("GET", VERSIONS_ROUTE, {"function_name": "hello"},
         Access(Verb.LIST, "default", "", plural="functionversions")),
        ("POST", ALIASES_ROUTE, {"function_name": "team/hello"},
         Access(Verb.CREATE, "team", "", plural="functionaliases")),
        ("PUT", ALIAS_ROUTE, {"function_name": "team/hello", "alias": "live"},
         Access(Verb.UPDATE, "team", "hello.live", plural="functionaliases")),
        ("DELETE", ALIAS_ROUTE, {"function_name": "team/hello", "alias": "live"},
         Access(Verb.DELETE, "team", "hello.live", plural="functionaliases")),
        ("PUT", CONCURRENCY_PUT_ROUTE, {"function_name": "arn:aws:lambda:us-east-1:team:function:hello"},
         Access(Verb.UPDATE, "team", "hello")),
        ("PUT", PROVISIONED_ROUTE, {"function_name": "team/hello"},
         Access(Verb.UPDATE, "team", "", plural="functionversions")),
        # Not a control-plane route, or a name that names nothing: the route answers.
        ("PATCH", VERSIONS_ROUTE, {"function_name": "hello"}, None),
        ("POST", VERSIONS_ROUTE, {"function_name": "Not A Name!"}, None),
    ],
)  # fmt: skip
def test_each_route_asks_rbac_for_the_resource_it_writes(
    method: str, route: str, match: dict[str, str], access: Access | None
) -> None:
    assert control_access(method, route, match) == access


def refused(call: Any, *args: Any) -> str:
    with pytest.raises(GatewayError) as error:
        call(*args)
    assert error.value.status == 400
    assert error.value.error_type == "InvalidParameterValueException"
    return error.value.message


def test_bodies_are_json_objects() -> None:
    assert control_shapes.json_object(b"") == {}
    assert control_shapes.json_object(b'{"Description": "x"}') == {"Description": "x"}
    assert "not JSON" in refused(control_shapes.json_object, b"{")
    assert "object" in refused(control_shapes.json_object, b"[1]")


def test_an_alias_request_is_checked_field_by_field() -> None:
    wanted = control_shapes.alias_request(
        {"Name": "live", "FunctionVersion": "1", "Description": "prod",
         "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.25}}}
    )  # fmt: skip
    assert wanted == control_shapes.AliasRequest("live", "1", "prod", {"2": 0.25})
    update = control_shapes.alias_request({"RoutingConfig": {}}, "live")
    assert update == control_shapes.AliasRequest("live", None, None, {})
    assert "Kubernetes names" in refused(
        control_shapes.alias_request, {"Name": "Live_1", "FunctionVersion": "1"}
    )
    assert "not only digits" in refused(
        control_shapes.alias_request, {"Name": "123", "FunctionVersion": "1"}
    )
    assert "required" in refused(control_shapes.alias_request, {"Name": "live"})
    for weights in ({"2": 1.5}, {"2": -0.1}, {"2": "half"}, {"2": True},
                    {"2": 0.1, "3": 0.1}, {"$LATEST": 0.1}, {"x": 0.1}):  # fmt: skip
        refused(
            control_shapes.alias_request,
            {"Name": "live", "FunctionVersion": "1",
             "RoutingConfig": {"AdditionalVersionWeights": weights}},
        )  # fmt: skip
    refused(control_shapes.alias_request, {"Name": "live", "FunctionVersion": "01"})
    refused(control_shapes.alias_request,
            {"Name": "live", "FunctionVersion": "1", "Description": "x" * 257})  # fmt: skip


@pytest.mark.parametrize("value", [-1, 100_001, 1.5, "5", True, None])
def test_concurrency_counts_are_whole_numbers_in_bounds(value: object) -> None:
    refused(control_shapes.reserved, {"ReservedConcurrentExecutions": value})
    refused(control_shapes.provisioned, {"ProvisionedConcurrentExecutions": value})


def test_alias_and_provisioned_answers_have_lambdas_shapes() -> None:
    alias = {
        "metadata": {"name": "hello.live", "namespace": "team", "resourceVersion": "42"},
        "spec": {"function": "hello", "functionVersion": "1",
                 "routingConfig": {"additionalVersionWeights": {"2": 0.1}}},
    }  # fmt: skip
    assert control_shapes.alias_configuration(alias, "eu-west-1") == {
        "AliasArn": "arn:aws:lambda:eu-west-1:team:function:hello:live",
        "Name": "live",
        "FunctionVersion": "1",
        "Description": "",
        "RevisionId": "42",
        "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.1}},
    }
    version = {
        "metadata": {"creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"provisionedConcurrency": 4, "snapshot": {"concurrency": {"perPod": 2}}},
        "status": {"readyReplicas": 1},
    }
    config = control_shapes.provisioned_configuration(version)
    assert config["RequestedProvisionedConcurrentExecutions"] == 4
    assert config["AvailableProvisionedConcurrentExecutions"] == 2
    assert config["Status"] == "IN_PROGRESS"


def test_an_update_keeps_what_it_does_not_name_and_empty_weights_remove_the_canary() -> None:
    current = {"spec": {"function": "hello", "functionVersion": "1", "description": "prod",
                        "routingConfig": {"additionalVersionWeights": {"2": 0.1}}}}  # fmt: skip
    promoted = control_shapes.alias_manifest(
        "team", "hello", control_shapes.AliasRequest("live", "2", None, {}), current
    )
    assert promoted["metadata"] == {"name": "hello.live", "namespace": "team"}
    assert promoted["spec"] == {"function": "hello", "functionVersion": "2", "description": "prod"}
    kept = control_shapes.alias_manifest(
        "team", "hello", control_shapes.AliasRequest("live", None, "new", None), current
    )
    assert kept["spec"]["routingConfig"] == {"additionalVersionWeights": {"2": 0.1}}
    assert kept["spec"]["description"] == "new"


def test_provisioned_configuration_counts_the_calls_each_pod_takes() -> None:
    version = {
        "spec": {
            "provisionedConcurrency": 40,
            "snapshot": {"concurrency": {"perPod": 2, "perRuntime": 10}},
        },
        "status": {"readyReplicas": 1},
    }
    config = control_shapes.provisioned_configuration(version)
    assert config["AvailableProvisionedConcurrentExecutions"] == 20
    assert config["Status"] == "IN_PROGRESS"
    version["status"] = {"readyReplicas": 2}
    assert control_shapes.provisioned_configuration(version)["Status"] == "READY"
