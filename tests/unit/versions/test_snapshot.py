"""What publishing makes of a Function: its snapshot, number and objects (pure)."""

import base64
import hashlib
import json
from typing import Any

import pytest

from kappa.api.function_version import FunctionVersion, as_function_body, published_as
from kappa.resources.code_configmap import code_digest, code_sha256
from kappa.versions.snapshot import (
    DIGEST_ANNOTATION,
    LAST_VERSION_ANNOTATION,
    PublishError,
    code_copy_manifest,
    copy_name,
    next_number,
    snapshot,
    unchanged,
    version_manifest,
)

INLINE = {"app.py": "def handler(e, c):\n    return e\n"}


def function(spec: dict[str, Any] | None = None, last: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "echo", "namespace": "team", "uid": "uid-echo"}
    if last is not None:
        meta["annotations"] = {LAST_VERSION_ANNOTATION: last}
    return {
        "metadata": meta,
        "spec": spec
        or {
            "runtime": "python3.12",
            "handler": "app.handler",
            "code": {"inline": INLINE},
            "concurrency": {"reserved": 10, "provisioned": 2, "perPod": 2},
        },
    }


def configmap(content: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "echo-code", "namespace": "team", "resourceVersion": "7"},
        "data": {"app.py": content},
        "binaryData": {"pkg.zip": base64.b64encode(b"zip").decode()},
    }


CM_SPEC = {
    "runtime": "python3.12",
    "handler": "app.handler",
    "code": {"configMap": {"name": "echo-code"}},
}


def test_a_snapshot_keeps_durable_and_a_change_of_it_is_a_new_version() -> None:
    durable = {"executionTimeoutSeconds": 3600, "retentionPeriodInDays": 7}
    taken = snapshot({**function()["spec"], "durable": durable}, None, "echo.1-code")
    assert taken.spec["durable"] == durable
    made = version_manifest(function(), 1, taken)
    parsed = FunctionVersion.model_validate(made)
    assert parsed.spec.snapshot.durable is not None
    assert parsed.spec.snapshot.durable.execution_timeout_seconds == 3600
    longer = snapshot(
        {**function()["spec"], "durable": {**durable, "executionTimeoutSeconds": 7200}},
        None,
        "echo.1-code",
    )
    plain = snapshot(function()["spec"], None, "echo.1-code")
    assert len({taken.digest, longer.digest, plain.digest}) == 3


def test_a_snapshot_keeps_the_spec_but_the_functions_own_concurrency() -> None:
    taken = snapshot({**function()["spec"], "publish": True}, None, "echo.1-code")
    assert taken.spec["code"] == {"inline": INLINE}
    assert "publish" not in taken.spec  # a version never publishes versions of its own
    assert taken.spec["concurrency"] == {"perPod": 2}  # provisioned and reserved stay behind
    assert taken.code_sha256 == code_sha256(INLINE)


def test_a_configmaps_code_is_copied_and_the_digest_follows_its_content() -> None:
    first = snapshot(CM_SPEC, configmap("v1"), "echo.1-code")
    assert first.spec["code"]["configMap"]["name"] == "echo.1-code"
    # The same content under the next number: the same digest (nothing changed).
    assert snapshot(CM_SPEC, configmap("v1"), "echo.2-code").digest == first.digest
    assert snapshot(CM_SPEC, configmap("v2"), "echo.2-code").digest != first.digest
    assert CM_SPEC["code"]["configMap"]["name"] == "echo-code"  # the input is left alone


def test_a_missing_configmap_cannot_be_published() -> None:
    with pytest.raises(PublishError, match="'echo-code' does not exist"):
        snapshot(CM_SPEC, None, "echo.1-code")


def test_the_digest_changes_with_the_configuration_not_with_concurrency() -> None:
    base = function()["spec"]
    digest = snapshot(base, None, "x").digest
    more_memory = {**base, "memorySize": 512}
    other_concurrency = {**base, "concurrency": {"reserved": 1, "perPod": 2}}
    assert snapshot(more_memory, None, "x").digest != digest
    assert snapshot(other_concurrency, None, "x").digest == digest


def test_numbers_only_grow_even_past_deleted_versions() -> None:
    assert next_number(function(), []) == 1
    assert next_number(function(), [1, 2]) == 3
    assert next_number(function(last="5"), [1, 2]) == 6  # 3 to 5 were deleted
    assert next_number(function(last="not-a-number"), [4]) == 5


def test_an_unchanged_function_gives_its_latest_version() -> None:
    versions = [
        {"metadata": {"annotations": {DIGEST_ANNOTATION: "a"}}, "spec": {"version": 1}},
        {"metadata": {"annotations": {DIGEST_ANNOTATION: "b"}}, "spec": {"version": 2}},
    ]
    assert unchanged(versions, "b") is versions[1]
    assert unchanged(versions, "a") is None  # back to version 1's: a new version, as Lambda
    assert unchanged([], "a") is None


def test_the_version_and_its_code_copy_are_valid_and_owned() -> None:
    taken = snapshot(CM_SPEC, configmap("v1"), "echo.3-code")
    manifest = version_manifest(function(CM_SPEC), 3, taken, "release 3")
    model = FunctionVersion.model_validate(manifest)
    assert model.metadata.name == "echo.3"
    assert model.spec.description == "release 3"
    assert manifest["metadata"]["ownerReferences"][0]["kind"] == "Function"
    assert manifest["metadata"]["ownerReferences"][0]["controller"] is False
    assert manifest["metadata"]["annotations"][DIGEST_ANNOTATION] == taken.digest
    made = {**manifest, "metadata": {**manifest["metadata"], "uid": "uid-v3"}}
    copied = code_copy_manifest(configmap("v1"), made, "echo.3-code")
    assert copied["immutable"] is True
    assert copied["data"] == {"app.py": "v1"}
    assert copied["binaryData"] == configmap("v1")["binaryData"]
    assert copied["metadata"]["ownerReferences"][0]["uid"] == "uid-v3"
    # Not an operator-made code ConfigMap, which the operator deletes once no pod mounts it.
    assert copied["metadata"]["labels"]["kappa.dev/component"] != "function"


def test_a_version_reads_as_a_function_with_its_own_concurrency() -> None:
    taken = snapshot(function()["spec"], None, "x")
    manifest = version_manifest(function(), 4, taken)
    manifest["spec"]["provisionedConcurrency"] = 2
    body = as_function_body(manifest)
    assert published_as(body) == ("echo", "4")
    assert body["spec"]["concurrency"] == {"perPod": 2, "provisioned": 2}
    assert body["kind"] == "FunctionVersion"
    assert published_as(function()) is None


def test_the_digest_is_the_sha256_of_the_spec_as_the_function_has_it_and_its_configmap() -> None:
    taken = snapshot({**CM_SPEC, "concurrency": {"reserved": 3}}, configmap("v1"), "echo.1-code")
    identity = [{**CM_SPEC, "concurrency": {}}, code_digest(configmap("v1")).sha256]
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    assert taken.digest == hashlib.sha256(canonical.encode()).hexdigest()
    inline = snapshot(function()["spec"], None, "x")
    canonical = json.dumps([inline.spec], sort_keys=True, separators=(",", ":"))
    assert inline.digest == hashlib.sha256(canonical.encode()).hexdigest()
    reordered = dict(reversed(list(function()["spec"].items())))
    assert snapshot(reordered, None, "x").digest == inline.digest
    changed = {**CM_SPEC, "memoryMB": 512}
    assert snapshot(changed, configmap("v1"), "echo.1-code").digest != taken.digest


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param({"configMap": {"name": "echo-code"}},
                     code_digest(configmap("v1")).sha256, id="configmap"),
        pytest.param({"configMap": {"name": "echo-code", "archive": "pkg.zip"}},
                     hashlib.sha256(b"zip").hexdigest(), id="configmap-archive"),
        pytest.param({"url": {"url": "http://x/a.zip", "sha256": "ab" * 32}}, "ab" * 32, id="url"),
        pytest.param({"image": "kappa.local/x:1"}, None, id="image"),
    ],
)  # fmt: skip
def test_the_code_sha256_is_the_packages(code: dict[str, Any], expected: str | None) -> None:
    spec = {**CM_SPEC, "code": code}
    assert snapshot(spec, configmap("v1"), "echo.1-code").code_sha256 == expected


def test_numbers_start_at_one_when_the_record_is_unreadable() -> None:
    assert next_number(function(last="not-a-number"), []) == 1
    assert next_number(function(last="2"), []) == 3
    assert copy_name("echo", 3) == "echo.3-code"


def test_the_latest_of_unordered_versions_is_the_one_compared() -> None:
    versions = [
        {"metadata": {"annotations": {DIGEST_ANNOTATION: "new"}}, "spec": {"version": 10}},
        {"metadata": {"annotations": {DIGEST_ANNOTATION: "old"}}, "spec": {"version": 9}},
        {"metadata": {}, "spec": {"version": 2}},
    ]
    assert unchanged(versions, "new") is versions[0]
    assert unchanged(versions, "old") is None


def test_the_version_and_its_copy_are_exactly_these_objects() -> None:
    taken = snapshot(CM_SPEC, configmap("v1"), "echo.2-code")
    assert version_manifest(function(CM_SPEC), 2, taken) == {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": "FunctionVersion",
        "metadata": {
            "name": "echo.2",
            "namespace": "team",
            "labels": {"kappa.dev/function": "echo"},
            "annotations": {DIGEST_ANNOTATION: taken.digest},
            "ownerReferences": [
                {"apiVersion": "kappa.dev/v1alpha1", "kind": "Function", "name": "echo",
                 "uid": "uid-echo", "controller": False, "blockOwnerDeletion": True}
            ],
        },
        "spec": {"function": "echo", "version": 2, "snapshot": taken.spec,
                 "codeSha256": taken.code_sha256},
    }  # fmt: skip
    made = {"metadata": {"name": "echo.2", "namespace": "team", "uid": "uid-v2"},
            "spec": {"function": "echo"}}  # fmt: skip
    assert code_copy_manifest({"data": {"a": "1"}}, made, "echo.2-code") == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "echo.2-code",
            "namespace": "team",
            "labels": {"kappa.dev/function": "echo", "kappa.dev/component": "version-code"},
            "ownerReferences": [
                {"apiVersion": "kappa.dev/v1alpha1", "kind": "FunctionVersion", "name": "echo.2",
                 "uid": "uid-v2", "controller": True, "blockOwnerDeletion": True}
            ],
        },
        "immutable": True,
        "data": {"a": "1"},
    }  # fmt: skip


def test_a_missing_configmap_is_named_with_the_field_to_fix() -> None:
    with pytest.raises(PublishError) as refused:
        snapshot({**CM_SPEC, "code": {"configMap": {"name": "gone"}}}, None, "x")
    assert str(refused.value) == (
        "the code's ConfigMap 'gone' does not exist: create it (or fix "
        "spec.code.configMap.name) before publishing"
    )
