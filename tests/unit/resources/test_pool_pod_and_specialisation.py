"""A warm pool's pod, and what a claim sends it and patches it with."""

import base64
import hashlib
import io
import json
import zipfile
from typing import Any

import pytest

from kappa.agent.specialise import specialisation
from kappa.agent.start_env import NODE_READ_AT_START, inherit_problem
from kappa.resources.pods import CodeMount, PodParams, make_pod
from kappa.resources.pool_pod import PoolPodParams, pool_pod, pool_token, token_digest
from kappa.resources.specialisation import (
    CodeSource,
    NotSpecialisableError,
    adoption_patch,
    code_source,
    config_map_files,
    environment,
    request,
)

pytestmark = pytest.mark.unit

POOL = PoolPodParams(
    pool="py", namespace="team", uid="u-1", runtime="python3.11",
    image="kappa.local/runtime-python3.11:dev", memory_mb=256, ephemeral_storage_mb=512,
    region="us-east-1",
)  # fmt: skip


def made(code: CodeMount, **extra: Any) -> dict[str, Any]:
    params = PodParams(
        function="hello", namespace="team", uid="f-1", runtime="python3.11",
        handler="app.handler", image="img", agent_image="agent", code=code, memory_mb=256,
        timeout_seconds=3, ephemeral_storage_mb=512, per_pod=1,
        arn="arn:aws:lambda:us-east-1:team:function:hello", region="us-east-1", **extra,
    )  # fmt: skip
    return make_pod(params, name="py-1a2b3c4d", revision="abc123")


def test_a_pool_pod_is_its_pools_with_a_tokens_digest_and_an_empty_task_root() -> None:
    pod = pool_pod(POOL, name="py-1", key=b"k" * 32)
    meta, spec = pod["metadata"], pod["spec"]
    assert meta["labels"] == {"kappa.dev/component": "pool", "kappa.dev/pool": "py"}
    assert meta["ownerReferences"][0]["kind"] == "WarmPool"
    assert meta["ownerReferences"][0]["uid"] == "u-1"
    [container] = spec["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    token = pool_token(b"k" * 32, POOL.namespace, "py-1")
    assert env["KAPPA_POOL_TOKEN_SHA256"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(pod)
    assert "KAPPA_POOL_TOKEN" not in env
    assert env["KAPPA_RUNTIME"] == "python3.11"
    assert "KAPPA_FUNCTION_ARN" not in env
    assert container["resources"]["limits"]["memory"] == "256Mi"
    assert {"name": "code", "mountPath": "/var/task"} in container["volumeMounts"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["terminationGracePeriodSeconds"] == 905


def test_a_function_of_the_pools_size_sets_nothing_a_runtime_started_ahead_read_at_start() -> None:
    # A node pool pod starts its runtime ahead with the pool's variables: the Function it
    # is claimed for must not differ in what node and its bootstrap read when they start.
    pod = pool_pod(POOL, name="py-1", key=b"k" * 32)
    pool_env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    function_env = {**pool_env, **environment(made(CodeMount(config_map="hello-code-1")))}
    assert pool_env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert inherit_problem(pool_env, function_env, NODE_READ_AT_START) is None


def test_inline_code_travels_as_a_zip_of_the_code_volumes_files() -> None:
    manifest = made(CodeMount(config_map="hello-code-1", files=("app.py", "lib/util.py")))
    source = code_source(manifest)
    assert source is not None
    assert source.config_map == "hello-code-1"
    assert source.archive_key is None
    keys = dict(source.items)
    configmap = {"data": {k: f"# {path}\n" for k, path in keys.items()}}
    zipped = config_map_files(source, configmap)
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        assert sorted(archive.namelist()) == ["app.py", "lib/util.py"]
        assert archive.read("lib/util.py") == b"# lib/util.py\n"
        assert archive.getinfo("app.py").external_attr >> 16 & 0o777 == 0o755


def test_an_archive_configmap_sends_its_zip_and_drops_the_file_url() -> None:
    manifest = made(CodeMount(config_map="pkg", archive="code.zip", url="file:///kappa/archive/code.zip",
                              sha256="ab" * 32))  # fmt: skip
    source = code_source(manifest)
    assert source == CodeSource("pkg", "code.zip", ())
    env = environment(manifest)
    assert "KAPPA_CODE_URL" not in env
    assert "KAPPA_CODE_SHA256" not in env
    zipped = b"PK\x05\x06" + b"\0" * 18
    assert (
        config_map_files(source, {"binaryData": {"code.zip": base64.b64encode(zipped).decode()}})
        == zipped
    )
    with pytest.raises(NotSpecialisableError, match=r"no key code\.zip"):
        config_map_files(source, {"data": {}})


def test_a_url_needs_no_code_and_the_request_is_what_the_agent_accepts() -> None:
    manifest = made(CodeMount(url="http://store/pkg.zip", sha256="cd" * 32))
    assert code_source(manifest) is None
    env = environment(manifest)
    assert env["KAPPA_CODE_URL"] == "http://store/pkg.zip"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == "py-1a2b3c4d"  # the pool pod's own name
    body = request(env, b"zip-bytes")
    assert body["sha256"] == hashlib.sha256(b"zip-bytes").hexdigest()
    pod_env = {"KAPPA_POOL_TOKEN_SHA256": "ab" * 32, "KAPPA_RUNTIME": "python3.11"}
    accepted = specialisation(pod_env, json.dumps(body).encode())
    assert accepted.env["KAPPA_FUNCTION_ARN"] == "arn:aws:lambda:us-east-1:team:function:hello"
    assert accepted.zip == b"zip-bytes"


def test_a_variable_from_a_reference_cannot_be_sent() -> None:
    manifest = made(
        CodeMount(),
        env=({"name": "SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},),
    )
    with pytest.raises(NotSpecialisableError, match="SECRET is not a literal"):
        environment(manifest)


def test_adoption_makes_the_pod_the_functions_and_leaves_the_pool() -> None:
    manifest = made(CodeMount(url="http://store/pkg.zip", sha256="cd" * 32))
    patch = adoption_patch(manifest, "py")["metadata"]
    assert patch["labels"]["kappa.dev/pool"] is None
    assert patch["labels"]["kappa.dev/component"] == "function"
    assert patch["labels"]["kappa.dev/function"] == "hello"
    assert patch["labels"]["kappa.dev/revision"] == "abc123"
    assert patch["annotations"]["kappa.dev/claimed-from"] == "py"
    [owner] = patch["ownerReferences"]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("Function", "f-1", True)


def test_each_pool_pod_has_its_own_token_under_the_operators_key() -> None:
    key = b"k" * 32
    token = pool_token(key, "team", "py-1")
    assert len(token) == 64
    assert token == pool_token(key, "team", "py-1")  # any replica, after any restart
    assert token != pool_token(key, "team", "py-2")
    assert token != pool_token(key, "other", "py-1")
    assert token != pool_token(b"j" * 32, "team", "py-1")
    assert token_digest(token) == hashlib.sha256(token.encode()).hexdigest()
