"""Function manifests the API must refuse or accept: one table for the models and the API server.

tests/unit/api/test_function.py checks the pydantic models against it;
e2e/test_function_crd.py applies the same manifests (server-side dry run) to a
real API server with the generated CRD. Each refusal names a substring of the
message that tells the user what to fix: ``says`` when the models and the API
server word it alike (Kappa's CEL rules, and bounds, which both phrase as
"greater than or equal to N"), ``apiserver_says``/``model_says`` where each
side has its own wording (enums, required fields, types, lengths), and
``server_side_apply_says`` where server-side apply refuses the manifest
before validation, while building its typed patch (types, duplicate keys,
unknown fields).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest

HANDLER_PY = "def handler(event, context):\n    return event\n"
HANDLER_JS = "exports.handler = async (event) => event;\n"
SHA = "0123456789abcdef" * 4

_BASE_SPEC: dict[str, Any] = {
    "runtime": "python3.11",
    "handler": "app.handler",
    "code": {"inline": {"app.py": HANDLER_PY}},
}

_DELETE = object()


def manifest(name: str = "fn", **spec: Any) -> dict[str, Any]:
    """A Function manifest: a valid python3.11 one, with `spec` fields replaced (`DELETE` drops)."""
    body = copy.deepcopy(_BASE_SPEC)
    for key, value in spec.items():
        if value is _DELETE:
            body.pop(key, None)
        else:
            body[key] = value
    return {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": "Function",
        "metadata": {"name": name},
        "spec": body,
    }


@dataclass(frozen=True)
class Refusal:
    manifest: dict[str, Any]
    says: str | None = None
    apiserver_says: str | None = None
    model_says: str | None = None
    server_side_apply_says: str | None = None

    @property
    def server_side_apply_expects(self) -> str:
        return self.server_side_apply_says or self.apiserver_expects

    @property
    def apiserver_expects(self) -> str:
        expected = self.apiserver_says or self.says
        assert expected is not None
        return expected

    @property
    def model_expects(self) -> str:
        expected = self.model_says or self.says
        assert expected is not None
        return expected


def _env(*entries: dict[str, Any]) -> list[dict[str, Any]]:
    return list(entries)


def _refused(case_id: str, refusal: Refusal) -> Any:
    return pytest.param(refusal, id=case_id)


REFUSED = [
    # --- bounds
    _refused("memory-below-128", Refusal(manifest(memoryMB=127), "greater than or equal to 128")),
    _refused(
        "memory-above-10240", Refusal(manifest(memoryMB=10241), "less than or equal to 10240")
    ),
    _refused(
        "memory-as-string",
        Refusal(
            manifest(memoryMB="256"),
            apiserver_says="must be of type integer",
            model_says="Input should be a valid integer",
            server_side_apply_says=".spec.memoryMB: expected numeric (int or float), got string",
        ),
    ),
    _refused("timeout-zero", Refusal(manifest(timeoutSeconds=0), "greater than or equal to 1")),
    _refused(
        "timeout-above-900", Refusal(manifest(timeoutSeconds=901), "less than or equal to 900")
    ),
    _refused(
        "ephemeral-storage-below-512",
        Refusal(manifest(ephemeralStorageMB=511), "greater than or equal to 512"),
    ),
    _refused(
        "ephemeral-storage-above-10240",
        Refusal(manifest(ephemeralStorageMB=10241), "less than or equal to 10240"),
    ),
    _refused(
        "per-pod-zero",
        Refusal(manifest(concurrency={"perPod": 0}), "greater than or equal to 1"),
    ),
    _refused(
        "per-pod-above-64",
        Refusal(manifest(concurrency={"perPod": 65}), "less than or equal to 64"),
    ),
    _refused(
        "per-runtime-zero",
        Refusal(manifest(concurrency={"perRuntime": 0}), "greater than or equal to 1"),
    ),
    _refused(
        "per-runtime-above-1600",
        Refusal(manifest(concurrency={"perRuntime": 1601}), "less than or equal to 1600"),
    ),
    _refused(
        "pod-calls-above-1600",
        Refusal(
            manifest(concurrency={"perPod": 2, "perRuntime": 801}),
            "spec.concurrency.perPod x spec.concurrency.perRuntime is over 1600",
        ),
    ),
    _refused(
        "per-runtime-on-nodejs20",
        Refusal(
            manifest(runtime="nodejs20", handler="index.handler", concurrency={"perRuntime": 2}),
            "spec.concurrency.perRuntime over 1 needs a runtime whose process takes concurrent",
        ),
    ),
    _refused(
        "per-runtime-on-java17",
        Refusal(
            manifest(
                runtime="java17",
                handler="example.Hello",
                code={"configMap": {"name": "code", "archive": "code.zip"}},
                concurrency={"perRuntime": 2},
            ),
            "spec.concurrency.perRuntime over 1 needs a runtime whose process takes concurrent",
        ),
    ),
    _refused(
        "per-runtime-on-image",
        Refusal(
            manifest(
                runtime="image",
                handler=_DELETE,
                code={"image": "registry.example/fn:1"},
                concurrency={"perRuntime": 8},
            ),
            "spec.concurrency.perRuntime over 1 needs a runtime whose process takes concurrent",
        ),
    ),
    _refused(
        "reserved-negative",
        Refusal(manifest(concurrency={"reserved": -1}), "greater than or equal to 0"),
    ),
    _refused(
        "target-utilization-below-0.1",
        Refusal(manifest(scaling={"targetUtilization": 0.05}), "greater than or equal to 0.1"),
    ),
    _refused(
        "target-utilization-above-1",
        Refusal(manifest(scaling={"targetUtilization": 1.5}), "less than or equal to 1"),
    ),
    _refused(
        "scale-to-zero-above-3600",
        Refusal(manifest(scaling={"scaleToZeroAfterSeconds": 3601}), "less than or equal to 3600"),
    ),
    _refused(
        "max-replicas-zero",
        Refusal(manifest(scaling={"maxReplicas": 0}), "greater than or equal to 1"),
    ),
    _refused(
        "async-retries-above-2",
        Refusal(manifest(**{"async": {"maximumRetryAttempts": 3}}), "less than or equal to 2"),
    ),
    _refused(
        "async-event-age-below-60",
        Refusal(
            manifest(**{"async": {"maximumEventAgeSeconds": 59}}), "greater than or equal to 60"
        ),
    ),
    # --- logging
    _refused(
        "log-levels-need-json",
        Refusal(
            manifest(loggingConfig={"applicationLogLevel": "DEBUG"}),
            "need logFormat JSON: set logFormat to JSON or remove the levels",
        ),
    ),
    _refused(
        "system-log-level-needs-json",
        Refusal(
            manifest(loggingConfig={"logFormat": "Text", "systemLogLevel": "WARN"}),
            "need logFormat JSON",
        ),
    ),
    _refused(
        "log-format-unknown",
        Refusal(
            manifest(loggingConfig={"logFormat": "XML"}),
            apiserver_says='supported values: "Text", "JSON"',
            model_says="Input should be 'Text' or 'JSON'",
        ),
    ),
    _refused(
        "application-log-level-unknown",
        Refusal(
            manifest(loggingConfig={"logFormat": "JSON", "applicationLogLevel": "VERBOSE"}),
            apiserver_says='supported values: "TRACE", "DEBUG"',
            model_says="Input should be 'TRACE', 'DEBUG'",
        ),
    ),
    # --- runtime and handler
    _refused(
        "runtime-unknown",
        Refusal(
            manifest(runtime="python2.7"),
            apiserver_says='supported values: "python3.11", "python3.12"',
            model_says="Input should be 'python3.11', 'python3.12'",
        ),
    ),
    _refused(
        "runtime-missing",
        Refusal(
            manifest(runtime=_DELETE),
            apiserver_says="spec.runtime: Required value",
            model_says="Field required",
        ),
    ),
    _refused(
        "handler-missing-python",
        Refusal(manifest(handler=_DELETE), "spec.handler is required for runtime python3.11"),
    ),
    _refused(
        "handler-missing-nodejs",
        Refusal(
            manifest(
                runtime="nodejs20", handler=_DELETE, code={"inline": {"index.js": HANDLER_JS}}
            ),
            "spec.handler is required for runtime nodejs20",
        ),
    ),
    _refused(
        "handler-python-without-function",
        Refusal(manifest(handler="app"), "spec.handler must be module.function for python"),
    ),
    _refused(
        "handler-nodejs-function-with-dash",
        Refusal(
            manifest(
                runtime="nodejs22", handler="index.my-handler", code={"inline": {"index.js": "x"}}
            ),
            "spec.handler must be file.export for nodejs",
        ),
    ),
    _refused(
        "handler-missing-java",
        Refusal(
            manifest(runtime="java17", handler=_DELETE, code={"configMap": {"name": "code"}}),
            "spec.handler is required for runtime java17",
        ),
    ),
    _refused(
        "handler-java-path",
        Refusal(
            manifest(
                runtime="java17",
                handler="example/Hello::handle",
                code={"configMap": {"name": "code"}},
            ),
            "spec.handler must be package.Class or package.Class::method for java",
        ),
    ),
    _refused(
        "handler-java-method-without-class",
        Refusal(
            manifest(
                runtime="java17", handler="::handleRequest", code={"configMap": {"name": "c"}}
            ),
            "spec.handler must be package.Class or package.Class::method for java",
        ),
    ),
    _refused(
        "handler-java-python-style",
        Refusal(
            manifest(
                runtime="java17", handler="example/Hello.handle", code={"configMap": {"name": "c"}}
            ),
            "spec.handler must be package.Class or package.Class::method for java",
        ),
    ),
    _refused(
        "handler-with-space",
        Refusal(manifest(handler="app. handler"), "spec.handler must not be empty or hold spaces"),
    ),
    _refused(
        "handler-empty",
        Refusal(
            manifest(runtime="provided", handler=""),
            "spec.handler must not be empty or hold spaces",
        ),
    ),
    # --- code sources
    _refused(
        "code-two-sources",
        Refusal(
            manifest(code={"inline": {"app.py": HANDLER_PY}, "configMap": {"name": "code"}}),
            "spec.code must set exactly one of inline, configMap, url, image",
        ),
    ),
    _refused(
        "code-no-source",
        Refusal(
            manifest(code={}), "spec.code must set exactly one of inline, configMap, url, image"
        ),
    ),
    _refused(
        "code-missing",
        Refusal(
            manifest(code=_DELETE),
            apiserver_says="spec.code: Required value",
            model_says="Field required",
        ),
    ),
    _refused(
        "inline-no-files",
        Refusal(manifest(code={"inline": {}}), "spec.code.inline has no files"),
    ),
    _refused(
        "inline-parent-directory",
        Refusal(
            manifest(code={"inline": {"app.py": HANDLER_PY, "../escape.py": "x"}}),
            "spec.code.inline file names must be relative paths",
        ),
    ),
    _refused(
        "inline-absolute-path",
        Refusal(
            manifest(code={"inline": {"/etc/app.py": HANDLER_PY}}),
            "spec.code.inline file names must be relative paths",
        ),
    ),
    _refused(
        # 40,000 two-byte characters + 60,000 ASCII: 100,000 characters, 140,000+ bytes.
        "inline-over-128KiB-in-utf8-bytes",
        Refusal(
            manifest(code={"inline": {"app.py": "é" * 40_000, "data.txt": "x" * 60_000}}),
            "spec.code.inline is too large",
        ),
    ),
    _refused(
        "url-ftp-scheme",
        Refusal(
            manifest(code={"url": {"url": "ftp://files.example/fn.zip", "sha256": SHA}}),
            "spec.code.url.url must be an http:// or https:// URL",
        ),
    ),
    _refused(
        "url-with-credentials",
        Refusal(
            manifest(code={"url": {"url": "https://user:pw@files.example/fn.zip", "sha256": SHA}}),
            "spec.code.url.url must be an http:// or https:// URL",
        ),
    ),
    _refused(
        "url-sha256-63-digits",
        Refusal(
            manifest(code={"url": {"url": "https://files.example/fn.zip", "sha256": SHA[:63]}}),
            "spec.code.url.sha256 must be the SHA-256 of the archive as 64 lowercase",
        ),
    ),
    _refused(
        "url-sha256-uppercase",
        Refusal(
            manifest(code={"url": {"url": "https://files.example/fn.zip", "sha256": SHA.upper()}}),
            "spec.code.url.sha256 must be the SHA-256 of the archive as 64 lowercase",
        ),
    ),
    _refused(
        "url-without-sha256",
        Refusal(
            manifest(code={"url": {"url": "https://files.example/fn.zip"}}),
            apiserver_says="spec.code.url.sha256: Required value",
            model_says="Field required",
        ),
    ),
    _refused(
        "config-map-bad-name",
        Refusal(
            manifest(code={"configMap": {"name": "My_Code"}}),
            "must be a Kubernetes object name",
        ),
    ),
    _refused(
        "image-path-without-image",
        Refusal(
            manifest(code={"inline": {"app.py": HANDLER_PY}, "imagePath": "/var/task"}),
            "spec.code.imagePath applies to spec.code.image only",
        ),
    ),
    _refused(
        "image-path-with-image-runtime",
        Refusal(
            manifest(
                runtime="image",
                handler=_DELETE,
                code={"image": "registry.example/fn:1", "imagePath": "/var/task"},
            ),
            "spec.code.imagePath applies to an image that only carries code",
        ),
    ),
    _refused(
        "image-path-relative",
        Refusal(
            manifest(code={"image": "registry.example/fn:1", "imagePath": "var/task"}),
            "spec.code.imagePath must be an absolute directory",
        ),
    ),
    _refused(
        "image-path-dot-dot",
        Refusal(
            manifest(code={"image": "registry.example/fn:1", "imagePath": "/var/../etc"}),
            "spec.code.imagePath must be an absolute directory",
        ),
    ),
    _refused(
        "image-path-too-long",
        Refusal(
            manifest(code={"image": "registry.example/fn:1", "imagePath": "/" + "a" * 256}),
            apiserver_says="spec.code.imagePath: Too long",
            model_says="at most 256 characters",
        ),
    ),
    _refused(
        "image-runtime-with-inline-code",
        Refusal(
            manifest(runtime="image", handler=_DELETE),
            "runtime image takes its code from spec.code.image",
        ),
    ),
    _refused(
        "image-runtime-with-two-slots",
        Refusal(
            manifest(
                runtime="image",
                handler=_DELETE,
                code={"image": "registry.example/fn:1"},
                concurrency={"perPod": 2},
            ),
            "spec.concurrency.perPod must be 1 for runtime image",
        ),
    ),
    _refused(
        "image-reference-uppercase-repository",
        Refusal(
            manifest(runtime="image", handler=_DELETE, code={"image": "registry.example/MyFn:1"}),
            "spec.code.image must be an image reference",
        ),
    ),
    _refused(
        "image-reference-with-space",
        Refusal(
            manifest(runtime="image", handler=_DELETE, code={"image": "registry.example/fn :1"}),
            "spec.code.image must be an image reference",
        ),
    ),
    # --- environment
    _refused(
        "env-literal-values-over-4KiB",
        Refusal(
            manifest(
                env=_env({"name": "A", "value": "a" * 2048}, {"name": "B", "value": "b" * 2049})
            ),
            "spec.env literal values may hold at most 4096 bytes in total",
        ),
    ),
    _refused(
        "env-literal-values-over-4KiB-in-utf8-bytes",
        Refusal(
            manifest(env=_env({"name": "A", "value": "é" * 2049})),
            "spec.env literal values may hold at most 4096 bytes in total",
        ),
    ),
    _refused(
        "env-one-value-over-4KiB",
        Refusal(
            manifest(env=_env({"name": "A", "value": "a" * 4097})),
            apiserver_says="spec.env[0].value: Too long",
            model_says="String should have at most 4096 characters",
        ),
    ),
    _refused(
        "env-name-with-dash",
        Refusal(
            manifest(env=_env({"name": "MY-VAR", "value": "1"})),
            "spec.env name must start with a letter or '_'",
        ),
    ),
    _refused(
        "env-name-starts-with-digit",
        Refusal(
            manifest(env=_env({"name": "1VAR", "value": "1"})),
            "spec.env name must start with a letter or '_'",
        ),
    ),
    _refused(
        "env-reserved-aws-region",
        Refusal(
            manifest(env=_env({"name": "AWS_REGION", "value": "eu-west-1"})),
            "spec.env name AWS_REGION is reserved",
        ),
    ),
    _refused(
        "env-reserved-handler",
        Refusal(
            manifest(env=_env({"name": "_HANDLER", "value": "x.y"})),
            "spec.env name _HANDLER is reserved",
        ),
    ),
    _refused(
        "env-reserved-aws-lambda-prefix",
        Refusal(
            manifest(env=_env({"name": "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "value": "1"})),
            "spec.env name AWS_LAMBDA_FUNCTION_MEMORY_SIZE is reserved",
        ),
    ),
    _refused(
        "env-reserved-kappa-prefix",
        Refusal(
            manifest(env=_env({"name": "KAPPA_SLOTS", "value": "8"})),
            "spec.env name KAPPA_SLOTS is reserved",
        ),
    ),
    _refused(
        "env-duplicate-name",
        Refusal(
            manifest(env=_env({"name": "A", "value": "1"}, {"name": "A", "value": "2"})),
            apiserver_says="spec.env[1]: Duplicate value",
            model_says="spec.env names must be unique: A appears more than once",
            server_side_apply_says='.spec.env: duplicate entries for key [name="A"]',
        ),
    ),
    _refused(
        "env-value-and-value-from",
        Refusal(
            manifest(
                env=_env(
                    {
                        "name": "A",
                        "value": "1",
                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                    }
                )
            ),
            "an env variable takes either value or valueFrom, not both",
        ),
    ),
    _refused(
        "env-value-from-empty",
        Refusal(
            manifest(env=_env({"name": "A", "valueFrom": {}})),
            "valueFrom must set exactly one of secretKeyRef, configMapKeyRef, fieldRef",
        ),
    ),
    _refused(
        "env-field-ref-unsupported-path",
        Refusal(
            manifest(
                env=_env({"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.containers"}}})
            ),
            "must be one of metadata.name, metadata.namespace",
        ),
    ),
    _refused(
        "env-secret-ref-without-key",
        Refusal(
            manifest(env=_env({"name": "A", "valueFrom": {"secretKeyRef": {"name": "creds"}}})),
            apiserver_says="spec.env[0].valueFrom.secretKeyRef.key: Required value",
            model_says="Field required",
        ),
    ),
    _refused(
        "service-account-bad-name",
        Refusal(manifest(serviceAccountName="Runner_SA"), "must be a Kubernetes object name"),
    ),
    # --- names
    _refused(
        "name-with-dot",
        Refusal(manifest(name="my.function"), "metadata.name must be a DNS-1123 label"),
    ),
    _refused(
        "name-64-characters",
        Refusal(manifest(name="f" * 64), "metadata.name must be at most 63 characters"),
    ),
    _refused(
        "name-uppercase",
        Refusal(manifest(name="MyFunction"), "metadata.name must be a DNS-1123 label"),
    ),
    # --- concurrency and scaling
    _refused(
        "provisioned-above-reserved",
        Refusal(
            manifest(concurrency={"reserved": 2, "provisioned": 3}),
            "spec.concurrency.provisioned must not exceed spec.concurrency.reserved",
        ),
    ),
    _refused(
        "provisioned-above-reserved-zero",
        Refusal(
            manifest(concurrency={"reserved": 0, "provisioned": 1}),
            "spec.concurrency.provisioned must not exceed spec.concurrency.reserved",
        ),
    ),
    _refused(
        "max-replicas-cannot-hold-provisioned",
        Refusal(
            manifest(concurrency={"provisioned": 10, "perPod": 2}, scaling={"maxReplicas": 4}),
            "spec.scaling.maxReplicas x spec.concurrency.perPod x spec.concurrency.perRuntime is "
            "less than",
        ),
    ),
    _refused(
        "max-replicas-cannot-hold-provisioned-calls",
        Refusal(
            manifest(concurrency={"provisioned": 10, "perRuntime": 2}, scaling={"maxReplicas": 4}),
            "spec.scaling.maxReplicas x spec.concurrency.perPod x spec.concurrency.perRuntime is "
            "less than",
        ),
    ),
    # --- the HTTP trigger's access
    _refused(
        "url-auth-type-unknown",
        Refusal(
            manifest(url={"authType": "PUBLIC"}),
            apiserver_says='supported values: "KUBERNETES", "AWS_IAM", "NONE"',
            model_says="Input should be 'KUBERNETES', 'AWS_IAM' or 'NONE'",
        ),
    ),
    # --- async destinations
    _refused(
        "destination-function-and-nats",
        Refusal(
            manifest(**{"async": {"onFailure": {"function": "dlq", "natsSubject": "fn.failed"}}}),
            "a destination must set exactly one of function, natsSubject",
        ),
    ),
    _refused(
        "destination-empty",
        Refusal(
            manifest(**{"async": {"onSuccess": {}}}),
            "a destination must set exactly one of function, natsSubject",
        ),
    ),
    _refused(
        "destination-nats-wildcard",
        Refusal(
            manifest(**{"async": {"onFailure": {"natsSubject": "orders.*"}}}),
            "natsSubject must be a NATS subject",
        ),
    ),
    _refused(
        "destination-function-bad-name",
        Refusal(
            manifest(**{"async": {"onFailure": {"function": "Dead_Letters"}}}),
            "must be the name of a Function",
        ),
    ),
    _refused(
        "six-layers",
        Refusal(
            manifest(layers=[{"name": f"l{i}"} for i in range(6)]),
            apiserver_says="spec.layers: Too many",
            model_says="Tuple should have at most 5 items",
        ),
    ),
    _refused(
        "layers-on-an-image",
        Refusal(
            manifest(
                runtime="image",
                code={"image": "registry.example/fn:1"},
                layers=[{"name": "shared"}],
            ),
            "spec.layers does not apply to runtime image",
        ),
    ),
    _refused(
        "a-layer-twice",
        Refusal(
            manifest(layers=[{"name": "shared"}, {"name": "shared"}]),
            apiserver_says="spec.layers[1]: Duplicate value",
            model_says="spec.layers names each Layer once",
            server_side_apply_says='.spec.layers: duplicate entries for key [name="shared"]',
        ),
    ),
    # --- durable execution
    _refused(
        "durable-execution-timeout-zero",
        Refusal(manifest(durable={"executionTimeoutSeconds": 0}), "greater than or equal to 1"),
    ),
    _refused(
        "durable-execution-timeout-above-366-days",
        Refusal(
            manifest(durable={"executionTimeoutSeconds": 31_622_401}),
            "less than or equal to 31622400",
        ),
    ),
    _refused(
        "durable-retention-zero",
        Refusal(
            manifest(durable={"executionTimeoutSeconds": 60, "retentionPeriodInDays": 0}),
            "greater than or equal to 1",
        ),
    ),
    _refused(
        "durable-retention-above-90",
        Refusal(
            manifest(durable={"executionTimeoutSeconds": 60, "retentionPeriodInDays": 91}),
            "less than or equal to 90",
        ),
    ),
    _refused(
        "durable-without-execution-timeout",
        Refusal(
            manifest(durable={"retentionPeriodInDays": 7}),
            apiserver_says="spec.durable.executionTimeoutSeconds: Required value",
            model_says="Field required",
        ),
    ),
    _refused(
        "durable-with-retries",
        Refusal(
            manifest(
                durable={"executionTimeoutSeconds": 60}, **{"async": {"maximumRetryAttempts": 2}}
            ),
            "spec.async.maximumRetryAttempts does not apply to a durable Function",
        ),
    ),
    _refused(
        "durable-with-zero-retries",
        Refusal(
            manifest(
                durable={"executionTimeoutSeconds": 60}, **{"async": {"maximumRetryAttempts": 0}}
            ),
            "remove maximumRetryAttempts",
        ),
    ),
    _refused(
        "durable-on-nodejs22",
        Refusal(
            manifest(
                runtime="nodejs22",
                handler="index.handler",
                code={"inline": {"index.js": HANDLER_JS}},
                durable={"executionTimeoutSeconds": 60},
            ),
            "spec.durable with runtime nodejs22 needs a Python runtime",
        ),
    ),
    _refused(
        "durable-on-java17",
        Refusal(
            manifest(
                runtime="java17",
                handler="example.Hello",
                code={"configMap": {"name": "code", "archive": "code.zip"}},
                durable={"executionTimeoutSeconds": 60},
            ),
            "spec.durable with runtime java17 needs a Python runtime",
        ),
    ),
    # --- unknown fields (refused under kubectl's default, --validate=strict)
    _refused(
        "unknown-field-memoryMb-typo",
        Refusal(
            manifest(memoryMb=256),
            apiserver_says='unknown field "spec.memoryMb"',
            model_says="Extra inputs are not permitted",
            server_side_apply_says=".spec.memoryMb: field not declared in schema",
        ),
    ),
]


def _accepted(case_id: str, body: dict[str, Any]) -> Any:
    return pytest.param(body, id=case_id)


ACCEPTED = [
    _accepted("python-inline-minimal", manifest()),
    _accepted("with-layers", manifest(layers=[{"name": "shared"}, {"name": "deps"}])),
    _accepted("python-code-image", manifest(code={"image": "registry.example/fn-code:1"})),
    _accepted(
        "python-code-image-with-path-and-layers",
        manifest(
            code={"image": "registry.example/fn-code:1", "imagePath": "/workspace"},
            layers=[{"name": "shared"}],
        ),
    ),
    _accepted(
        "provided-code-image-root",
        manifest(
            runtime="provided", handler=_DELETE, code={"image": "ko.local/fn", "imagePath": "/"}
        ),
    ),
    _accepted(
        "logging-json-with-levels",
        manifest(
            loggingConfig={
                "logFormat": "JSON",
                "applicationLogLevel": "WARN",
                "systemLogLevel": "DEBUG",
            }
        ),
    ),
    _accepted("logging-text", manifest(loggingConfig={"logFormat": "Text"})),
    _accepted(
        "bounds-low",
        manifest(
            memoryMB=128,
            timeoutSeconds=1,
            ephemeralStorageMB=512,
            scaling={"targetUtilization": 0.1, "scaleToZeroAfterSeconds": 0},
            **{"async": {"maximumRetryAttempts": 0, "maximumEventAgeSeconds": 60}},
        ),
    ),
    _accepted(
        "bounds-high",
        manifest(
            memoryMB=10240,
            timeoutSeconds=900,
            ephemeralStorageMB=10240,
            # Within what the cluster lets Functions set aside (its limit less the unreserved
            # minimum): the quota webhook refuses more at apply time, dry runs too.
            concurrency={"reserved": 100, "provisioned": 100, "perPod": 64},
            scaling={"targetUtilization": 1, "scaleToZeroAfterSeconds": 3600, "maxReplicas": 16},
        ),
    ),
    _accepted(
        "per-runtime-python-1600",
        manifest(concurrency={"perRuntime": 1600}),
    ),
    _accepted(
        "per-runtime-and-pods",
        manifest(
            concurrency={"perPod": 2, "perRuntime": 800, "provisioned": 16},
            scaling={"maxReplicas": 1},
        ),
    ),
    _accepted(
        "per-runtime-nodejs22",
        manifest(runtime="nodejs22", handler="index.handler", concurrency={"perRuntime": 64}),
    ),
    _accepted(
        "per-runtime-provided",
        manifest(runtime="provided", handler=_DELETE, concurrency={"perRuntime": 8}),
    ),
    _accepted("name-63-characters", manifest(name="f" * 63)),
    _accepted(
        "durable-bounds-low",
        manifest(durable={"executionTimeoutSeconds": 1, "retentionPeriodInDays": 1}),
    ),
    _accepted(
        "durable-bounds-high",
        # The default python3.11: the e2e cluster's runtime webhook refuses runtimes it has
        # no image for (python3.13's durable rule is in the rule tests).
        manifest(durable={"executionTimeoutSeconds": 31_622_400, "retentionPeriodInDays": 90}),
    ),
    _accepted(
        "durable-provided-with-async-age-and-destinations",
        manifest(
            runtime="provided",
            handler=_DELETE,
            durable={"executionTimeoutSeconds": 86400},
            **{
                "async": {
                    "maximumEventAgeSeconds": 60,
                    "onFailure": {"natsSubject": "default.failed"},
                }
            },
        ),
    ),
    _accepted(
        "durable-image",
        manifest(
            runtime="image",
            handler=_DELETE,
            code={"image": "registry.example/durable:1"},
            durable={"executionTimeoutSeconds": 3600, "retentionPeriodInDays": 30},
        ),
    ),
    _accepted(
        "java-class-and-method",
        manifest(
            runtime="java17",
            handler="com.example.app.Hello$Inner::handle_Request2",
            code={"configMap": {"name": "code", "archive": "code.zip"}},
        ),
    ),
    _accepted(
        "java-request-handler-class",
        manifest(
            runtime="java17",
            handler="Hello",
            code={"url": {"url": "https://files.example/hello.jar", "sha256": SHA}},
        ),
    ),
    _accepted(
        "nodejs-nested-files-and-env-sources",
        manifest(
            runtime="nodejs22",
            handler="src/index.handler",
            code={"inline": {"src/index.js": HANDLER_JS, "src/lib/util.js": "x", ".npmrc": ""}},
            env=[
                {"name": "MODE", "value": "prod"},
                {"name": "EMPTY"},
                {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
                {
                    "name": "LEVEL",
                    "valueFrom": {
                        "configMapKeyRef": {"name": "cfg", "key": "log.level", "optional": True}
                    },
                },
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {
                    "name": "TEAM",
                    "valueFrom": {
                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels['team']"}
                    },
                },
                {
                    "name": "AWS_ACCESS_KEY_ID",
                    "valueFrom": {"secretKeyRef": {"name": "aws", "key": "id"}},
                },
                {"name": "TZ", "value": "Europe/Paris"},
            ],
        ),
    ),
    _accepted(
        "env-literal-values-exactly-4KiB",
        manifest(env=[{"name": "A", "value": "a" * 2048}, {"name": "B", "value": "b" * 2048}]),
    ),
    _accepted(
        "inline-exactly-128KiB",
        manifest(code={"inline": {"app.py": "#" * (128 * 1024 - len("app.py"))}}),
    ),
    _accepted(
        "python-handler-in-package",
        manifest(runtime="python3.11", handler="pkg/sub.mod.handler_v2"),
    ),
    _accepted(
        "provided-url-http-without-handler",
        manifest(
            runtime="provided",
            handler=_DELETE,
            code={"url": {"url": "http://minio.storage:9000/code/fn.zip?v=2", "sha256": SHA}},
        ),
    ),
    _accepted(
        "provided-with-free-form-handler",
        manifest(
            runtime="provided",
            handler="function.handler",
            code={"configMap": {"name": "bootstrap-code"}},
        ),
    ),
    _accepted(
        "image-with-digest",
        manifest(
            runtime="image",
            handler=_DELETE,
            code={"image": f"localhost:5000/team/fn-image:v1.2@sha256:{SHA}"},
        ),
    ),
    _accepted(
        "everything",
        manifest(
            runtime="python3.11",
            code={"configMap": {"name": "fn-code.v2"}},
            serviceAccountName="fn-runner",
            concurrency={"reserved": 50, "provisioned": 5, "perPod": 4},
            scaling={"maxReplicas": 20},
            url={"authType": "NONE"},
            **{
                "async": {
                    "maximumRetryAttempts": 1,
                    "maximumEventAgeSeconds": 3600,
                    "onSuccess": {"natsSubject": "fn.results"},
                    "onFailure": {"function": "dead-letters"},
                }
            },
        ),
    ),
]

DELETE = _DELETE
