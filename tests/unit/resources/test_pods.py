import hashlib
import json
from dataclasses import asdict, replace
from typing import Any

import pytest

from kappa.api.function import LogFormat, LoggingConfig, SystemLogLevel
from kappa.resources.pods import (
    CodeMount,
    PodParams,
    cpu_millicores,
    logging_params,
    make_pod,
    revision_of,
)

PARAMS = PodParams(
    function="hello",
    namespace="team-a",
    uid="uid-1",
    runtime="python3.11",
    handler="app.handler",
    image="kappa.local/runtime-python3.11:dev",
    agent_image="kappa.local/base:dev",
    code=CodeMount(config_map="hello-code-0123456789", files=("app.py", "lib/util.py")),
    memory_mb=256,
    timeout_seconds=30,
    ephemeral_storage_mb=512,
    per_pod=1,
    arn="arn:aws:lambda:us-east-1:team-a:function:hello",
    region="us-east-1",
    env=(
        {"name": "GREETING", "value": "hi"},
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
    ),
)


def env_of(container: dict) -> dict[str, object]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_pod_is_owned_labelled_and_never_restarted_by_the_kubelet() -> None:
    pod = make_pod(PARAMS, name="hello-abc", revision="r1", attempt=2)
    meta = pod["metadata"]
    assert meta["labels"] == {
        "kappa.dev/function": "hello",
        "kappa.dev/component": "function",
        "kappa.dev/revision": "r1",
    }
    assert meta["ownerReferences"][0]["uid"] == "uid-1"
    assert meta["ownerReferences"][0]["controller"] is True
    assert meta["annotations"]["kappa.dev/attempt"] == "2"
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["terminationGracePeriodSeconds"] == 35


def test_restricted_security_and_no_token_without_a_service_account() -> None:
    pod = make_pod(PARAMS, name="p", revision="r")
    (container,) = pod["spec"]["containers"]
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "runAsGroup": 1000,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["spec"]["automountServiceAccountToken"] is False
    with_sa = make_pod(replace(PARAMS, service_account_name="reader"), name="p", revision="r")
    assert with_sa["spec"]["automountServiceAccountToken"] is True
    assert with_sa["spec"]["serviceAccountName"] == "reader"


def test_a_service_account_brings_a_token_for_the_gateway_and_none_without() -> None:
    def token_parts(pod: dict[str, Any]) -> tuple[list[Any], list[Any], list[Any]]:
        (container,) = pod["spec"]["containers"]
        return (
            [v for v in pod["spec"]["volumes"] if "projected" in v],
            [m for m in container.get("volumeMounts", []) if m["name"] == "kappa-token"],
            [e for e in container["env"] if e["name"] == "KAPPA_TOKEN_FILE"],
        )

    assert token_parts(make_pod(PARAMS, name="p", revision="r")) == ([], [], [])
    with_sa = make_pod(replace(PARAMS, service_account_name="reader"), name="p", revision="r")
    [volume], [mount], [env] = token_parts(with_sa)
    [source] = volume["projected"]["sources"]
    assert source["serviceAccountToken"]["audience"] == "kappa"
    assert mount["readOnly"] is True
    assert env["value"] == f"{mount['mountPath']}/{source['serviceAccountToken']['path']}"


@pytest.mark.parametrize(
    ("memory", "cpu"),
    [
        pytest.param(128, 72, id="128MB"),
        pytest.param(1769, 1000, id="1-vcpu"),
        pytest.param(10240, 5789, id="max"),
    ],
)
def test_cpu_follows_memory_like_lambda(memory: int, cpu: int) -> None:
    assert cpu_millicores(memory) == cpu
    container = make_pod(replace(PARAMS, memory_mb=memory), name="p", revision="r")["spec"][
        "containers"
    ][0]
    requests = container["resources"]["requests"]
    assert (requests["memory"], requests["cpu"]) == (f"{memory}Mi", f"{cpu}m")
    assert container["resources"]["limits"]["memory"] == f"{memory}Mi"
    assert "cpu" not in container["resources"]["limits"]


def test_disk_is_bounded_by_tmp_code_and_logs() -> None:
    """Every container requests and is limited in ephemeral storage: /tmp (512 MB here),
    the URL code volume when there is one, and room for logs; the node evicts a pod that
    writes more instead of filling its disk."""
    inline = make_pod(PARAMS, name="p", revision="r")["spec"]["containers"][0]["resources"]
    assert inline["requests"]["ephemeral-storage"] == "64Mi"
    assert inline["limits"]["ephemeral-storage"] == "576Mi"  # 512 + 64
    url = replace(PARAMS, code=CodeMount(url="https://example.com/fn.zip", sha256="a" * 64))
    fetched = make_pod(url, name="p", revision="r")["spec"]["containers"][0]["resources"]
    assert fetched["limits"]["ephemeral-storage"] == "876Mi"  # 512 + 300 + 64
    image = replace(PARAMS, runtime="image", image="registry.example/fn:1", code=CodeMount())
    for container in make_pod(image, name="p", revision="r")["spec"]["containers"]:
        assert container["resources"]["limits"]["ephemeral-storage"], container["name"]
        assert container["resources"]["requests"]["ephemeral-storage"], container["name"]


def test_tmp_is_sized_and_code_mounted_read_only() -> None:
    pod = make_pod(PARAMS, name="p", revision="r")
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["tmp"]["emptyDir"] == {"sizeLimit": "512Mi"}
    assert volumes["code"]["configMap"]["items"] == [
        {"key": "app.py", "path": "app.py"},
        {"key": "lib_sutil.py", "path": "lib/util.py"},
    ]
    mounts = {m["mountPath"]: m for m in pod["spec"]["containers"][0]["volumeMounts"]}
    assert mounts["/var/task"]["readOnly"] is True
    assert "/tmp" in mounts


def test_reserved_variables_then_the_users_env() -> None:
    (container,) = make_pod(PARAMS, name="hello-abc", revision="r", provisioned=True)["spec"][
        "containers"
    ]
    names = [e["name"] for e in container["env"]]
    # Reserved first, the user's last (in their order), so $(VAR) in theirs sees ours.
    assert names[-2:] == ["GREETING", "TOKEN"]
    assert {"KAPPA_RUNTIME", "_HANDLER", "AWS_LAMBDA_FUNCTION_NAME", "TZ"} <= set(names[:-2])
    env = env_of(container)
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "hello"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == "hello-abc"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "provisioned-concurrency"
    assert env["_HANDLER"] == "app.handler"
    assert env["KAPPA_FUNCTION_ARN"] == PARAMS.arn
    assert env["GREETING"] == "hi"
    assert env["TOKEN"] == {"secretKeyRef": {"name": "s", "key": "k"}}


def test_url_code_goes_to_a_writable_task_root_and_the_agent_fetches_it() -> None:
    url = replace(PARAMS, code=CodeMount(url="https://example.com/fn.zip", sha256="a" * 64))
    pod = make_pod(url, name="p", revision="r")
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["code"] == {"name": "code", "emptyDir": {"sizeLimit": "300Mi"}}  # 250 MB code
    env = env_of(pod["spec"]["containers"][0])
    assert (env["KAPPA_CODE_URL"], env["KAPPA_CODE_SHA256"]) == (
        "https://example.com/fn.zip",
        "a" * 64,
    )


def test_image_functions_run_the_agent_beside_the_users_image() -> None:
    image = replace(PARAMS, runtime="image", image="registry.example/fn:1", code=CodeMount())
    containers = {
        c["name"]: c for c in make_pod(image, name="p", revision="r")["spec"]["containers"]
    }
    assert containers["agent"]["image"] == "kappa.local/base:dev"
    assert containers["agent"]["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert env_of(containers["agent"])["KAPPA_RUNTIME"] == "image"
    assert containers["function"]["image"] == "registry.example/fn:1"
    function_env = [e["name"] for e in containers["function"]["env"]]
    # Lambda's variables and the Runtime API address, then the user's; none of the agent's.
    assert not [n for n in function_env if n.startswith("KAPPA_")]
    assert function_env[-3:] == ["AWS_LAMBDA_RUNTIME_API", "GREETING", "TOKEN"]
    env = env_of(containers["function"])
    assert env["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9001"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "hello"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["_HANDLER"] == "app.handler"
    # Every container has a memory limit: the agent's too, whatever the user's image does.
    assert {n: c["resources"]["limits"]["memory"] for n, c in containers.items()} == {
        "agent": "128Mi", "function": "256Mi"}  # fmt: skip


def test_provisioned_pods_are_labelled_and_say_so() -> None:
    provisioned = make_pod(PARAMS, name="p", revision="r", provisioned=True)
    assert provisioned["metadata"]["labels"]["kappa.dev/provisioned"] == "true"
    on_demand = make_pod(PARAMS, name="p", revision="r")
    assert "kappa.dev/provisioned" not in on_demand["metadata"]["labels"]
    assert env_of(on_demand["spec"]["containers"][0])["AWS_LAMBDA_INITIALIZATION_TYPE"] == (
        "on-demand"
    )


def test_readiness_tolerates_one_slow_answer() -> None:
    probe = make_pod(PARAMS, name="p", revision="r")["spec"]["containers"][0]["readinessProbe"]
    assert (probe["periodSeconds"], probe["failureThreshold"]) == (1, 3)


def test_json_logging_reaches_the_runtime_and_the_agent() -> None:
    config = LoggingConfig(log_format=LogFormat.JSON, system_log_level=SystemLogLevel.WARN)
    log_format, application, system = logging_params(config)
    params = replace(
        PARAMS, log_format=log_format, application_log_level=application, system_log_level=system
    )
    env = {
        e["name"]: e.get("value")
        for e in make_pod(params, name="p", revision="r")["spec"]["containers"][0]["env"]
    }
    assert env["AWS_LAMBDA_LOG_FORMAT"] == "JSON"
    assert env["AWS_LAMBDA_LOG_LEVEL"] == "INFO"  # Lambda's default with JSON
    assert env["KAPPA_SYSTEM_LOG_LEVEL"] == "WARN"
    assert revision_of(params) != revision_of(PARAMS)


def test_text_logging_sets_nothing_and_keeps_the_revision_of_pods_made_before() -> None:
    assert logging_params(LoggingConfig()) == (None, None, None)
    env = {
        e["name"] for e in make_pod(PARAMS, name="p", revision="r")["spec"]["containers"][0]["env"]
    }
    assert not {"AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL", "KAPPA_SYSTEM_LOG_LEVEL"} & env
    fields = asdict(PARAMS)
    for name in (
        "log_format",
        "application_log_level",
        "system_log_level",
        "layers",
        "version",
        "tracing_endpoint",
        "tracing_sample_ratio",
        "per_runtime",
        "durable_endpoint",
    ):
        del fields[name]
    for key in ("archive", "image", "image_path"):  # nor those of archives and code images
        del fields["code"][key]
    # The hash as it was computed before these fields existed: an upgrade rolls no pod.
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=list)
    assert revision_of(PARAMS) == hashlib.sha256(canonical.encode()).hexdigest()[:10]


def test_revision_changes_with_anything_that_shapes_the_pod() -> None:
    base = revision_of(PARAMS)
    assert revision_of(PARAMS) == base
    assert revision_of(replace(PARAMS, memory_mb=512)) != base
    assert revision_of(replace(PARAMS, env=())) != base
    assert revision_of(replace(PARAMS, code=CodeMount(config_map="hello-code-other"))) != base
    code_image = replace(PARAMS, code=CodeMount(image="reg.example/code:1", image_path="/var/task"))
    assert revision_of(code_image) != base
    assert revision_of(replace(code_image, code=replace(code_image.code, image_path="/"))) != (
        revision_of(code_image)
    )


CODE_IMAGE = replace(PARAMS, code=CodeMount(image="reg.example/fn-code:1", image_path="/var/task"))


def test_a_code_image_is_copied_in_by_init_containers_and_runs_on_the_runtime_image() -> None:
    spec = make_pod(CODE_IMAGE, name="p", revision="r")["spec"]
    install, copy = spec["initContainers"]
    # The runtime image puts its static copy program, alone in its directory, in a volume...
    assert install["image"] == "kappa.local/runtime-python3.11:dev"
    assert install["command"] == [
        "/usr/lib/kappa-copy-code/copy-code",
        "/usr/lib/kappa-copy-code",
        "/kappa-copy-code",
    ]
    assert install["volumeMounts"] == [{"name": "copy-code", "mountPath": "/kappa-copy-code"}]
    # ... which the code image, shell or not, runs to copy its directory into the code volume,
    # bounded as an unpacked zip is (Lambda's 250 MB).
    assert copy["image"] == "reg.example/fn-code:1"
    assert copy["command"] == [
        "/kappa-copy-code/copy-code",
        "/var/task",
        "/kappa-code",
        str(250 * 1024 * 1024),
        "100000",
    ]
    assert copy["volumeMounts"] == [
        {"name": "copy-code", "mountPath": "/kappa-copy-code", "readOnly": True},
        {"name": "code", "mountPath": "/kappa-code"},
    ]
    for init in (install, copy):
        assert init["securityContext"]["runAsNonRoot"] is True
        assert init["securityContext"]["readOnlyRootFilesystem"] is True
        assert init["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert init["resources"]["limits"]["memory"] == "64Mi"
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["code"] == {"name": "code", "emptyDir": {"sizeLimit": "300Mi"}}
    assert volumes["copy-code"] == {"name": "copy-code", "emptyDir": {"sizeLimit": "8Mi"}}
    (function,) = spec["containers"]
    assert function["image"] == "kappa.local/runtime-python3.11:dev"
    assert {"name": "code", "mountPath": "/var/task", "readOnly": True} in function["volumeMounts"]
    # The agent has nothing to fetch: the code is in place before it starts.
    assert "KAPPA_CODE_URL" not in env_of(function)
    # The code volume counts towards the disk the pod may use.
    assert function["resources"]["limits"]["ephemeral-storage"] == f"{512 + 300 + 64}Mi"


def test_the_image_path_is_what_is_copied() -> None:
    root = replace(CODE_IMAGE, code=replace(CODE_IMAGE.code, image_path="/"))
    (_, copy) = make_pod(root, name="p", revision="r")["spec"]["initContainers"]
    assert copy["command"][1] == "/"


@pytest.mark.parametrize(
    "params",
    [
        pytest.param(PARAMS, id="configmap"),
        pytest.param(
            replace(PARAMS, code=CodeMount(url="https://x.example/c.zip", sha256="0" * 64)),
            id="url",
        ),
        pytest.param(
            replace(PARAMS, runtime="image", image="reg.example/fn:1", code=CodeMount()),
            id="runtime-image",
        ),
    ],
)
def test_no_init_containers_without_a_code_image(params: PodParams) -> None:
    assert "initContainers" not in make_pod(params, name="p", revision="r")["spec"]


def test_tracing_sets_the_agents_collector_only_when_on() -> None:
    env = env_of(make_pod(PARAMS, name="p", revision="r")["spec"]["containers"][0])
    assert not {"KAPPA_TRACING_OTLP_ENDPOINT", "KAPPA_TRACING_SAMPLE_RATIO"} & set(env)
    traced = replace(PARAMS, tracing_endpoint="http://otel:4318", tracing_sample_ratio=0.25)
    env = env_of(make_pod(traced, name="p", revision="r")["spec"]["containers"][0])
    assert env["KAPPA_TRACING_OTLP_ENDPOINT"] == "http://otel:4318"
    assert env["KAPPA_TRACING_SAMPLE_RATIO"] == "0.25"
    # Turning tracing on or moving the collector rolls the pods: their env changes.
    assert revision_of(traced) != revision_of(PARAMS)
    unsampled = replace(traced, tracing_sample_ratio=None)
    env = env_of(make_pod(unsampled, name="p", revision="r")["spec"]["containers"][0])
    assert "KAPPA_TRACING_SAMPLE_RATIO" not in env


def test_a_java_jar_in_a_configmap_is_unpacked_by_the_agent_into_the_task_root() -> None:
    java = replace(
        PARAMS,
        runtime="java17",
        handler="example.Hello::handleRequest",
        image="kappa.local/runtime-java17:dev",
        code=CodeMount(config_map="hello-java-code", archive="code.zip"),
    )
    pod = make_pod(java, name="hello-abc", revision="r")
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "kappa.local/runtime-java17:dev"
    env = env_of(container)
    assert env["KAPPA_RUNTIME"] == "java17"
    assert env["_HANDLER"] == "example.Hello::handleRequest"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_java17"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"  # the bootstrap sizes the heap
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    # The jar (a zip) only, for the agent to unpack; no ConfigMap keys mounted as files.
    assert volumes["archive"]["configMap"] == {
        "name": "hello-java-code",
        "items": [{"key": "code.zip", "path": "code.zip"}],
    }
    assert "code" not in volumes or "configMap" not in volumes["code"]


def _function_env(params: PodParams) -> dict[str, str]:
    container = make_pod(params, name="p", revision="r")["spec"]["containers"][0]
    return {e["name"]: e.get("value") for e in container["env"]}


def test_per_runtime_is_max_concurrency_and_rolls_the_pods() -> None:
    """Runtime clients switch mode on AWS_LAMBDA_MAX_CONCURRENCY's presence: only over one."""
    assert "AWS_LAMBDA_MAX_CONCURRENCY" not in _function_env(PARAMS)
    concurrent = replace(PARAMS, per_runtime=50)
    env = _function_env(concurrent)
    assert env["AWS_LAMBDA_MAX_CONCURRENCY"] == "50"
    assert env["KAPPA_SLOTS"] == "1"  # runtime processes, as before
    assert revision_of(concurrent) != revision_of(PARAMS)


def test_the_gateways_to_tell_and_the_pods_identity_go_to_the_agent() -> None:
    pushed = make_pod(PARAMS, name="p", revision="r", ready_push=("10.0.0.5:8000", "10.0.0.6:8000"))
    env = {e["name"]: e for e in pushed["spec"]["containers"][0]["env"]}
    assert env["KAPPA_AGENT_READY_PUSH"]["value"] == "10.0.0.5:8000,10.0.0.6:8000"
    assert env["KAPPA_POD_UID"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.uid"}}
    assert env["KAPPA_POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["KAPPA_POD_NAMESPACE"]["valueFrom"] == {
        "fieldRef": {"fieldPath": "metadata.namespace"}
    }
    plain = make_pod(PARAMS, name="p", revision="r")
    names = {e["name"] for e in plain["spec"]["containers"][0]["env"]}
    assert not names & {"KAPPA_AGENT_READY_PUSH", "KAPPA_POD_UID"}
