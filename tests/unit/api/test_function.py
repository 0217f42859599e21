from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from kappa.api import function as fn
from kappa.api import rules
from kappa.api.function import (
    CodeSource,
    EnvVar,
    Function,
    FunctionSpec,
    FunctionStatus,
    Runtime,
)
from kappa.api.meta import FROM_CLUSTER, ConditionStatus
from kappa.api.names import API_VERSION
from kappa.api.rules import Rule
from tests.unit.api.function_cases import (
    ACCEPTED,
    DELETE,
    HANDLER_PY,
    REFUSED,
    SHA,
    Refusal,
    manifest,
)


def test_the_table_has_at_least_twenty_refusals() -> None:
    assert len(REFUSED) >= 20


@pytest.mark.schema
@pytest.mark.parametrize("refusal", REFUSED)
def test_model_refuses_saying_what_to_fix(refusal: Refusal) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Function.model_validate(refusal.manifest)
    assert refusal.model_expects in str(excinfo.value)


@pytest.mark.schema
@pytest.mark.parametrize("body", ACCEPTED)
def test_model_accepts(body: dict[str, Any]) -> None:
    Function.model_validate(body)


@pytest.mark.schema
@pytest.mark.parametrize("body", ACCEPTED)
def test_dumping_by_alias_round_trips(body: dict[str, Any]) -> None:
    function = Function.model_validate(body)
    dumped = function.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert Function.model_validate(dumped) == function


@pytest.mark.schema
@pytest.mark.parametrize(
    "refusal", [r for r in REFUSED if "Extra inputs" not in r.values[0].model_expects]
)
def test_read_from_the_cluster_still_refuses_bad_values(refusal: Refusal) -> None:
    # Only unknown fields are left out of what comes from the API server.
    with pytest.raises(ValidationError) as excinfo:
        Function.model_validate(refusal.manifest, context=FROM_CLUSTER)
    assert refusal.model_expects in str(excinfo.value)


def test_unknown_fields_are_refused_from_users_and_left_out_from_the_cluster() -> None:
    newer = manifest()
    newer["spec"]["fromANewerCrd"] = True
    newer["spec"]["concurrency"] = {"perPod": 2, "alsoNewer": 1}
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Function.model_validate(newer)
    read = Function.model_validate(newer, context=FROM_CLUSTER)
    plain = manifest()
    plain["spec"]["concurrency"] = {"perPod": 2}
    assert read == Function.model_validate(plain)


def test_defaults_are_lambdas() -> None:
    spec = Function.model_validate(manifest()).spec
    assert (spec.memory_mb, spec.timeout_seconds, spec.ephemeral_storage_mb) == (128, 3, 512)
    assert spec.env == ()
    assert spec.service_account_name is None
    assert (spec.concurrency.reserved, spec.concurrency.provisioned) == (None, 0)
    assert spec.concurrency.per_pod == 1
    assert spec.scaling.target_utilization == 0.7
    assert spec.scaling.scale_to_zero_after_seconds == 60
    assert spec.scaling.max_replicas is None
    assert (spec.async_.maximum_retry_attempts, spec.async_.retry_attempts) == (None, 2)
    assert spec.async_.maximum_event_age_seconds == 21600
    assert (spec.async_.on_success, spec.async_.on_failure) == (None, None)
    assert spec.durable is None


def test_a_set_retry_count_is_the_one_used() -> None:
    spec = Function.model_validate(manifest(**{"async": {"maximumRetryAttempts": 0}})).spec
    assert spec.async_.retry_attempts == 0


def test_durable_keeps_the_execution_timeout_and_retains_14_days_by_default() -> None:
    spec = Function.model_validate(manifest(durable={"executionTimeoutSeconds": 86400})).spec
    assert spec.durable is not None
    assert spec.durable.execution_timeout_seconds == 86400
    assert spec.durable.retention_period_in_days == fn.DURABLE_RETENTION_DAYS_DEFAULT == 14
    dumped = spec.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert dumped["durable"] == {"executionTimeoutSeconds": 86400, "retentionPeriodInDays": 14}


@pytest.mark.parametrize(
    ("field", "low", "high"),
    [
        pytest.param("executionTimeoutSeconds", 1, 31_622_400, id="execution-timeout"),
        pytest.param("retentionPeriodInDays", 1, 90, id="retention"),
    ],
)
def test_durable_bounds_are_lambdas_both_sides(field: str, low: int, high: int) -> None:
    def durable(value: int) -> dict[str, Any]:
        return manifest(durable={"executionTimeoutSeconds": 60, field: value})

    for accepted in (low, low + 1, high - 1, high):
        assert _accepts(durable(accepted)), accepted
    for refused in (low - 1, high + 1):
        assert not _accepts(durable(refused)), refused


@pytest.mark.parametrize("runtime", list(Runtime), ids=str)
def test_durable_runs_on_python_provided_and_image_only(runtime: Runtime) -> None:
    body = manifest(runtime=str(runtime), handler=DELETE, durable={"executionTimeoutSeconds": 60})
    body["spec"]["handler"] = {"nodejs": "index.handler", "java": "example.Hello"}.get(
        str(runtime).rstrip("0123456789."), "app.handler"
    )
    if runtime is Runtime.IMAGE:
        body["spec"]["code"] = {"image": "registry.example/fn:1"}
    allowed = runtime.is_python or runtime in {Runtime.PROVIDED, Runtime.IMAGE}
    assert runtime.runs_durable is allowed
    assert (str(runtime) in fn.DURABLE_RUNTIMES) is allowed
    assert _accepts(body) is allowed
    del body["spec"]["durable"]
    assert _accepts(body)  # refused for durable, nothing else


def test_function_defaults_api_version_and_kind() -> None:
    function = Function.model_validate({"metadata": {"name": "fn"}, "spec": manifest()["spec"]})
    assert (function.api_version, function.kind) == (API_VERSION, fn.KIND)


def test_metadata_keeps_what_kappa_reads_and_ignores_the_rest() -> None:
    body = manifest()
    body["metadata"] = {
        "name": "fn",
        "namespace": "team",
        "uid": "1234",
        "generation": 3,
        "resourceVersion": "99",
        "managedFields": [{}],
    }
    function = Function.model_validate(body)
    assert function.name == "fn"
    assert (function.metadata.namespace, function.metadata.uid) == ("team", "1234")
    assert function.metadata.generation == 3


@pytest.mark.parametrize(
    ("code", "source"),
    [
        pytest.param({"inline": {"app.py": HANDLER_PY}}, CodeSource.INLINE, id="inline"),
        pytest.param({"configMap": {"name": "code"}}, CodeSource.CONFIG_MAP, id="config-map"),
        pytest.param(
            {"url": {"url": "https://x.example/a.zip", "sha256": SHA}}, CodeSource.URL, id="url"
        ),
        pytest.param({"image": "registry.example/fn:1"}, CodeSource.IMAGE, id="image"),
    ],
)
def test_code_source_names_the_field_that_is_set(code: dict[str, Any], source: CodeSource) -> None:
    runtime = "image" if source is CodeSource.IMAGE else "python3.12"
    function = Function.model_validate(manifest(runtime=runtime, code=code))
    assert function.code_source() is source
    assert function.spec.code_source is source
    assert function.spec.code.source is source
    assert str(source) in code


@pytest.mark.parametrize(
    ("runtime", "needs_handler"),
    [
        pytest.param(Runtime.PYTHON_3_11, True, id="python3.11"),
        pytest.param(Runtime.PYTHON_3_12, True, id="python3.12"),
        pytest.param(Runtime.PYTHON_3_13, True, id="python3.13"),
        pytest.param(Runtime.NODEJS_20, True, id="nodejs20"),
        pytest.param(Runtime.NODEJS_22, True, id="nodejs22"),
        pytest.param(Runtime.JAVA_17, True, id="java17"),
        pytest.param(Runtime.PROVIDED, False, id="provided"),
        pytest.param(Runtime.IMAGE, False, id="image"),
    ],
)
def test_which_runtimes_need_a_handler(runtime: Runtime, *, needs_handler: bool) -> None:
    assert runtime.needs_handler is needs_handler
    assert (runtime.value in fn.HANDLER_RUNTIMES) is needs_handler


def test_spec_says_whether_it_needs_a_handler() -> None:
    spec = FunctionSpec.model_validate(
        {"runtime": "provided", "code": {"configMap": {"name": "c"}}}
    )
    assert spec.needs_handler is False
    assert spec.handler is None


def test_spec_parses_on_its_own_as_kopf_hands_it_over() -> None:
    spec = FunctionSpec.model_validate(manifest()["spec"])
    assert spec.runtime is Runtime.PYTHON_3_11
    assert str(spec.runtime) == "python3.11"


def test_env_dumps_as_kubernetes_env_vars() -> None:
    env = [
        {"name": "A", "value": "1"},
        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k", "optional": True}}},
        {"name": "C", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}},
        {"name": "D", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
    ]
    spec = Function.model_validate(manifest(env=env)).spec
    assert [var.model_dump(by_alias=True, exclude_none=True) for var in spec.env] == env


def test_env_value_bytes_counts_utf8_bytes_of_literal_values_only() -> None:
    env = [
        {"name": "A", "value": "é"},
        {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "C"},
    ]
    assert Function.model_validate(manifest(env=env)).spec.env_value_bytes == 2


def _accepts(body: dict[str, Any]) -> bool:
    try:
        Function.model_validate(body)
    except ValidationError:
        return False
    return True


@given(st.lists(st.text(max_size=1500), max_size=8))
def test_env_is_accepted_exactly_when_literal_values_fit_the_limit(values: list[str]) -> None:
    env = [{"name": f"V{i}", "value": value} for i, value in enumerate(values)]
    fits = sum(len(value.encode()) for value in values) <= fn.ENV_VALUES_MAX_BYTES
    assert _accepts(manifest(env=env)) is fits


@given(st.dictionaries(st.sampled_from(["a.py", "b.py", "lib/c.py"]), st.text(max_size=60_000)))
def test_inline_is_accepted_exactly_when_it_fits_the_limit(files: dict[str, str]) -> None:
    size = sum(len(name.encode()) + len(text.encode()) for name, text in files.items())
    fits = bool(files) and size <= fn.INLINE_CODE_MAX_BYTES
    assert _accepts(manifest(code={"inline": files})) is fits


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("app.py", id="file"),
        pytest.param("src/lib/util.js", id="nested"),
        pytest.param(".npmrc", id="hidden"),
        pytest.param("a..b.py", id="double-dot-inside-a-name"),
    ],
)
def test_inline_file_names_that_are_safe(name: str) -> None:
    Function.model_validate(manifest(code={"inline": {name: "x"}}))


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("../x.py", id="parent"),
        pytest.param("a/../../x.py", id="parent-inside"),
        pytest.param("./x.py", id="dot"),
        pytest.param("/x.py", id="absolute"),
        pytest.param("a//b.py", id="empty-part"),
        pytest.param("a/", id="trailing-slash"),
        pytest.param("my file.py", id="space"),
        pytest.param("", id="empty"),
    ],
)
def test_inline_file_names_that_are_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="file names must be relative paths"):
        Function.model_validate(manifest(code={"inline": {name: "x"}}))


@pytest.mark.parametrize(
    "image",
    [
        pytest.param("fn", id="bare"),
        pytest.param("fn:1", id="tag"),
        pytest.param("registry.example/team/fn:v1.2.3", id="registry"),
        pytest.param("localhost:5000/fn", id="port"),
        pytest.param("kappa.local/runtime-python3.12:dev", id="local"),
        pytest.param(f"fn@sha256:{SHA}", id="digest"),
        pytest.param("my_registry.example/a__b/c-d:X_Y", id="separators"),
    ],
)
def test_image_references_that_are_accepted(image: str) -> None:
    Function.model_validate(manifest(runtime="image", handler=DELETE, code={"image": image}))


@pytest.mark.parametrize(
    "image",
    [
        pytest.param("Fn", id="uppercase-repository"),
        pytest.param("fn:", id="empty-tag"),
        pytest.param("fn:-1", id="tag-starting-with-dash"),
        pytest.param("fn@sha256:abc", id="short-digest"),
        pytest.param("https://registry.example/fn", id="url"),
        pytest.param("registry.example//fn", id="empty-path"),
    ],
)
def test_image_references_that_are_refused(image: str) -> None:
    with pytest.raises(ValidationError, match="must be an image reference"):
        Function.model_validate(manifest(runtime="image", handler=DELETE, code={"image": image}))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("memoryMB", True, id="bool-for-int"),
        pytest.param("memoryMB", 256.0, id="float-for-int"),
        pytest.param("timeoutSeconds", "30", id="string-for-int"),
        pytest.param("handler", 1, id="int-for-string"),
    ],
)
def test_types_are_strict_as_the_api_servers(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Function.model_validate(manifest(**{field: value}))


def test_models_are_frozen() -> None:
    function = Function.model_validate(manifest())
    with pytest.raises(ValidationError):
        function.spec.memory_mb = 256


def test_models_accept_python_names_too() -> None:
    var = EnvVar(name="A", value_from={"field_ref": {"field_path": "metadata.name"}})
    assert var.value_from is not None
    assert var.value_from.field_ref is not None


def test_status_parses_what_the_api_server_returns() -> None:
    status = FunctionStatus.model_validate(
        {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "InitError",
                    "message": "Runtime.ImportModuleError: no module named app",
                    "lastTransitionTime": "2025-01-02T03:04:05Z",
                    "observedGeneration": 2,
                }
            ],
            "observedGeneration": 2,
            "replicas": 1,
            "readyReplicas": 0,
            "provisionedReady": 0,
            "desiredReplicas": 1,
            "inFlight": 0,
            "arn": "arn:aws:lambda:us-east-1:team:function:fn",
            "codeSha256": SHA,
            "lastScaleTime": "2025-01-02T03:04:05Z",
        }
    )
    ready = status.condition("Ready")
    assert ready is not None
    assert ready.status is ConditionStatus.FALSE
    assert ready.last_transition_time == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert status.condition("CodeReady") is None
    dumped = status.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert dumped["conditions"][0]["lastTransitionTime"] == "2025-01-02T03:04:05Z"


def test_function_with_status_parses() -> None:
    body = manifest()
    body["status"] = {"observedGeneration": 1, "readyReplicas": 1}
    function = Function.model_validate(body)
    assert function.status is not None
    assert function.status.ready_replicas == 1


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        pytest.param("abc", "'abc'", id="plain"),
        pytest.param("it's", '"it\'s"', id="single-quote"),
        pytest.param('say "hi"', "'say \"hi\"'", id="double-quote"),
        pytest.param("both ' \"", "'both \\' \"'", id="both-quotes"),
        pytest.param("a\\.b", "'a\\\\.b'", id="backslash"),
    ],
)
def test_cel_string_quotes(value: str, literal: str) -> None:
    assert rules.cel_string(value) == literal


def test_rule_as_a_cel_validation() -> None:
    rule = Rule(
        cel="self > 0",
        message="must be positive",
        problem=lambda v: None if v > 0 else "must be positive",
        field_path=".x",
        reason=rules.Reason.REQUIRED,
    )
    assert rule.validation() == {
        "rule": "self > 0",
        "message": "must be positive",
        "fieldPath": ".x",
        "reason": "FieldValueRequired",
    }
    with pytest.raises(ValueError, match="must be positive"):
        rule.check(0)
    rule.check(1)


def test_rule_without_cel_is_no_validation() -> None:
    rule = Rule(cel=None, message="m", problem=lambda _: None)
    assert rule.validation() is None


@pytest.mark.parametrize(
    ("subject", "accepted"),
    [
        pytest.param("fn.results", True, id="tokens"),
        pytest.param("a_b-c.D1:x", True, id="punctuation"),
        pytest.param("orders", True, id="one-token"),
        pytest.param("a..b", False, id="empty-token"),
        pytest.param(".a", False, id="leading-dot"),
        pytest.param("a.", False, id="trailing-dot"),
        pytest.param("orders.*", False, id="star"),
        pytest.param("orders.>", False, id="greater-than"),
        pytest.param("my orders", False, id="space"),
    ],
)
def test_nats_subjects(subject: str, *, accepted: bool) -> None:
    body = manifest(**{"async": {"onFailure": {"natsSubject": subject}}})
    assert _accepts(body) is accepted


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        pytest.param("https://files.example/fn.zip", True, id="https"),
        pytest.param("http://minio.storage.svc:9000/code/fn.zip", True, id="http-with-port"),
        pytest.param("https://files.example/fn.zip?X-Amz-Signature=ab%2F", True, id="query"),
        pytest.param("https://10.0.0.1/fn.zip", True, id="ipv4"),
        pytest.param("https://files.example", True, id="no-path"),
        pytest.param("s3://bucket/fn.zip", False, id="s3"),
        pytest.param("file:///tmp/fn.zip", False, id="file"),
        pytest.param("files.example/fn.zip", False, id="no-scheme"),
        pytest.param("https://files.example/my fn.zip", False, id="space"),
        pytest.param("https://-bad.example/fn.zip", False, id="bad-host"),
    ],
)
def test_code_urls(url: str, *, accepted: bool) -> None:
    assert _accepts(manifest(code={"url": {"url": url, "sha256": SHA}})) is accepted
