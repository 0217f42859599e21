from pathlib import Path

import pytest

from kappa.api.function import Durable
from kappa.invocation.registry import (
    AsyncConfig,
    Destination,
    FunctionSpec,
    RegistryFileError,
    RegistryIndex,
    StaticRegistry,
    parse,
    parse_namespace_limits,
)
from kappa.invocation.routing import Endpoint

DOCUMENT = {
    "functions": [
        {
            "namespace": "team-a",
            "name": "web",
            "handler": "app.handler",
            "memoryMB": 512,
            "timeoutSeconds": 10,
            "concurrency": {"reserved": 3, "perPod": 2},
            "endpoints": [
                {"pod": "web-1", "address": "10.0.0.1:8080"},
                {"pod": "web-2", "address": "10.0.0.2:8080", "ready": False},
            ],
        },
        {"name": "echo"},
    ]
}


def test_parse() -> None:
    functions, endpoints = parse(DOCUMENT, "eu-west-1")
    web = functions[0]
    assert web.key == ("team-a", "web")
    assert web.arn == "arn:aws:lambda:eu-west-1:team-a:function:web"
    assert (web.memory_mb, web.timeout_seconds, web.reserved, web.per_pod) == (512, 10.0, 3, 2)
    assert endpoints[web.key] == [
        Endpoint("web-1", "10.0.0.1:8080", 2),
        Endpoint("web-2", "10.0.0.2:8080", 2, ready=False),
    ]
    assert functions[1].key == ("default", "echo")
    assert functions[1].reserved is None
    assert functions[1].async_config == AsyncConfig()


def test_parse_async_destinations() -> None:
    document = {"functions": [{"name": "job", "async": {
        "maximumRetryAttempts": 1, "onSuccess": {"natsSubject": "done"},
        "onFailure": {"function": "sink"},
    }}]}  # fmt: skip
    [job], _ = parse(document, "us-east-1")
    assert job.async_config == AsyncConfig(
        maximum_retry_attempts=1,
        on_success=Destination(nats_subject="done"),
        on_failure=Destination(function="sink"),
    )


def test_parse_durable() -> None:
    document = {"functions": [{"name": "order", "durable": {"executionTimeoutSeconds": 3600}},
                              {"name": "plain"}]}  # fmt: skip
    [order, plain], _ = parse(document, "us-east-1")
    assert order.durable == Durable(execution_timeout_seconds=3600, retention_period_in_days=14)
    assert plain.durable is None


@pytest.mark.parametrize(
    "document",
    [
        pytest.param([], id="not-an-object"),
        pytest.param(
            {"functions": [{"name": "x", "durable": {"executionTimeoutSeconds": 0}}]},
            id="durable-out-of-bounds",
        ),
        pytest.param({"functions": {}}, id="functions-not-a-list"),
        pytest.param({"functions": [{}]}, id="no-name"),
        pytest.param({"functions": [{"name": "x", "memoryMB": "lots"}]}, id="bad-number"),
        pytest.param({"functions": [{"name": "x", "endpoints": [{"pod": "p"}]}]}, id="no-address"),
    ],
)
def test_bad_documents(document: object) -> None:
    with pytest.raises(RegistryFileError):
        parse(document, "us-east-1")


def test_sums_and_notifications() -> None:
    registry = StaticRegistry()
    seen: list[tuple[str, str]] = []
    registry.subscribe(seen.append)
    functions, endpoints = parse(DOCUMENT, "us-east-1")
    registry.replace(functions, endpoints)
    assert sorted(seen) == [("default", "echo"), ("team-a", "web")]
    assert registry.reserved_total() == 3
    assert registry.cluster_slots() == 2  # the unready pod does not count
    assert [spec.name for spec in registry.functions()] == ["echo", "web"]
    seen.clear()
    registry.set_endpoints(("default", "echo"), [Endpoint("echo-1", "10.0.0.3:8080", 1)])
    assert seen == [("default", "echo")]
    assert registry.cluster_slots() == 3
    seen.clear()
    keys = [("default", "echo"), ("team-a", "web")]
    registry.replace(registry.functions(), {key: registry.endpoints(key) for key in keys})
    assert seen == []  # nothing changed, nobody woken


def test_load_file(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    path.write_text('{"functions": [{"name": "echo"}]}')
    registry = StaticRegistry()
    registry.load(path, "us-east-1")
    assert registry.function(("default", "echo")) == FunctionSpec(
        "default", "echo", "arn:aws:lambda:us-east-1:default:function:echo"
    )
    path.write_text("{not json")
    with pytest.raises(RegistryFileError):
        registry.load(path, "us-east-1")
    assert registry.function(("default", "echo")) is not None


def test_static_registry_namespace_limits_and_slots() -> None:
    registry = StaticRegistry(*parse(DOCUMENT, "us-east-1"), namespace_limits={"team-a": 3})
    assert registry.namespace_limit("team-a") == 3
    assert registry.namespace_limit("default") is None
    # web-1 is ready (perPod 2 → 2 slots); web-2 is not.
    assert registry.namespace_slots("team-a") == 2
    assert registry.namespace_slots("default") == 0
    assert registry.cluster_slots() == 2


@pytest.mark.parametrize(
    ("document", "limits"),
    [
        pytest.param({"functions": []}, {}, id="none"),
        pytest.param({"namespaceLimits": {"a": 0, "b": 5}}, {"a": 0, "b": 5}, id="some"),
    ],
)
def test_parse_namespace_limits(document: object, limits: dict[str, int]) -> None:
    assert parse_namespace_limits(document) == limits


@pytest.mark.parametrize(
    "limits",
    [
        pytest.param([], id="not-a-map"),
        pytest.param({"a": -1}, id="negative"),
        pytest.param({"a": "5"}, id="a-string"),
        pytest.param({"a": True}, id="a-boolean"),
    ],
)
def test_bad_namespace_limits(limits: object) -> None:
    with pytest.raises(RegistryFileError, match="namespaceLimits must map namespaces to counts"):
        parse_namespace_limits({"namespaceLimits": limits})


def test_load_reads_namespace_limits(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    path.write_text('{"functions": [{"name": "echo"}], "namespaceLimits": {"default": 2},'
                    ' "namespaceQueuedEvents": {"default": 7},'
                    ' "namespaceQueuedBytes": {"default": 4096}}')  # fmt: skip
    registry = StaticRegistry()
    registry.load(path, "us-east-1")
    assert registry.namespace_limit("default") == 2
    assert registry.queued_event_limit("default") == 7
    assert registry.queued_event_limit("other") is None
    assert registry.queued_bytes_limit("default") == 4096
    assert registry.queued_bytes_limit("other") is None
    with pytest.raises(RegistryFileError, match="namespaceQueuedEvents must map"):
        parse_namespace_limits({"namespaceQueuedEvents": {"a": -1}}, "namespaceQueuedEvents")


def test_the_index_keeps_its_sums_as_values_come_and_go() -> None:
    index = RegistryIndex()
    web = FunctionSpec("team-a", "web", "arn:web", reserved=3)
    assert index.put_function(web.key, web)
    assert not index.put_function(web.key, web)  # the same value changes nothing
    assert index.reserved_total() == 3
    ready, unready = (
        Endpoint("web-1", "10.0.0.1:8080", 2),
        Endpoint("web-2", "10.0.0.2:8080", 4, ready=False),
    )
    assert index.put_endpoints(web.key, [ready, unready])
    assert not index.put_endpoints(web.key, (ready, unready))
    assert (index.cluster_slots(), index.namespace_slots("team-a")) == (2, 2)
    # Endpoints need no Function, and count in their own namespace.
    assert index.put_endpoints(("team-b", "db"), [Endpoint("db-1", "10.0.0.3:8080", 1)])
    assert (index.cluster_slots(), index.namespace_slots("team-b")) == (3, 1)
    assert index.put_endpoints(web.key, [])
    assert index.endpoints(web.key) == ()
    assert (index.cluster_slots(), index.namespace_slots("team-a")) == (1, 0)
    assert index.put_function(web.key, None)
    assert (index.reserved_total(), index.function(web.key), index.functions()) == (0, None, ())
    index.put_namespace_limit("team-a", 4, 100, 2048)
    limits = (index.namespace_limit, index.queued_event_limit, index.queued_bytes_limit)
    assert [limit("team-a") for limit in limits] == [4, 100, 2048]
    index.put_namespace_limit("team-a", None)
    assert [limit("team-a") for limit in limits] == [None, None, None]


def test_the_index_replace_names_only_the_keys_that_changed() -> None:
    index = RegistryIndex()
    functions, endpoints = parse(DOCUMENT, "us-east-1")
    assert index.put_all(functions, endpoints) == {("default", "echo"), ("team-a", "web")}
    assert index.put_all(functions, endpoints) == set()
    assert index.put_all(functions[1:], {}) == {("team-a", "web")}
    assert (index.reserved_total(), index.cluster_slots()) == (0, 0)


def test_a_file_functions_pods_take_processes_times_calls_each() -> None:
    document = {
        "functions": [
            {
                "name": "web",
                "concurrency": {"perPod": 2, "perRuntime": 50},
                "endpoints": [{"pod": "web-1", "address": "10.0.0.1:8080"}],
            }
        ]
    }
    functions, endpoints = parse(document, "eu-west-1")
    assert functions[0].per_pod == 100
    assert endpoints[functions[0].key] == [Endpoint("web-1", "10.0.0.1:8080", 100)]
