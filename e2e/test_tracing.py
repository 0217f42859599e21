"""Tracing on the real cluster (docs/tracing.md): the chart's ``tracing.otlpEndpoint`` set
to an OTLP/HTTP receiver running in a pod, a Function whose handler makes its own span
with the OpenTelemetry SDK (vendored by ``kappa deploy`` from requirements.txt, the X-Ray
propagator reading ``_X_AMZN_TRACE_ID``), and one call without any trace header: the
gateway's, the agent's and the handler's spans reach the receiver as one trace, each the
child of the one before. The chart is put back to its defaults afterwards."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import install_chart
from e2e.gateway import Gateway
from e2e.pod_security import restricted
from e2e.test_cli import Kappa, kappa  # noqa: F401 - the fixture, shared

REPO = Path(__file__).resolve().parents[1]
PORT = 4318

# A pod of the base image, standard library only: POST /v1/traces (OTLP/HTTP JSON) keeps
# every span; GET /spans lists them.
RECEIVER = """
import http.server, json, threading
spans, lock = [], threading.Lock()
def value(v):
    return next(iter(v.values()), None)
class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with lock:
            for rs in body.get("resourceSpans", []):
                resource = {a["key"]: value(a["value"]) for a in rs["resource"]["attributes"]}
                for ss in rs.get("scopeSpans", []):
                    for s in ss.get("spans", []):
                        spans.append({
                            "service": resource.get("service.name"),
                            "traceId": s["traceId"], "spanId": s["spanId"],
                            "parentSpanId": s.get("parentSpanId") or None, "name": s["name"],
                            "start": int(s["startTimeUnixNano"]), "end": int(s["endTimeUnixNano"]),
                            "attributes": {a["key"]: value(a["value"]) for a in s.get("attributes", [])},
                        })
        self.answer(b"{}")
    def do_GET(self):
        with lock:
            self.answer(json.dumps(spans).encode())
    def answer(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("", 4318), Receiver).serve_forever()
"""

REQUIREMENTS = "opentelemetry-sdk==1.45.2\nopentelemetry-propagator-aws-xray==1.0.2\n"

# The handler's own span, made by the OpenTelemetry SDK in the trace the runtime's
# _X_AMZN_TRACE_ID names. Its exporter posts OTLP/HTTP JSON to OTEL_EXPORTER_OTLP_ENDPOINT,
# which the agent sets from the chart's collector (the SDK's own OTLP exporters need
# protobuf, too large for a ConfigMap-held package).
HANDLER = """\
import json
import os
import urllib.request

from opentelemetry.propagators.aws import AwsXRayPropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult


class OtlpJson(SpanExporter):
    def export(self, spans):
        records = [{
            "traceId": f"{s.context.trace_id:032x}",
            "spanId": f"{s.context.span_id:016x}",
            "parentSpanId": f"{s.parent.span_id:016x}" if s.parent else "",
            "name": s.name,
            "kind": s.kind.value + 1,
            "startTimeUnixNano": str(s.start_time),
            "endTimeUnixNano": str(s.end_time),
            "attributes": [{"key": k, "value": {"stringValue": str(v)}}
                           for k, v in (s.attributes or {}).items()],
        } for s in spans]
        body = {"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "handler"}}]},
            "scopeSpans": [{"scope": {"name": "e2e"}, "spans": records}],
        }]}
        request = urllib.request.Request(
            os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/") + "/v1/traces",
            data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).read()
        return SpanExportResult.SUCCESS

    def shutdown(self):
        pass


provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(OtlpJson()))
tracer = provider.get_tracer("e2e")


def handler(event, context):
    carrier = {"X-Amzn-Trace-Id": os.environ.get("_X_AMZN_TRACE_ID", "")}
    parent = AwsXRayPropagator().extract(carrier)
    with tracer.start_as_current_span("handler-work", context=parent) as span:
        span.set_attribute("faas.invocation_id", context.aws_request_id)
    return {"trace": carrier["X-Amzn-Trace-Id"]}
"""


def receiver_pod(core: client.CoreV1Api, namespace: str) -> str:
    """The receiver's pod, Ready; its IP (reached by the gateways, the agents and this host)."""
    container = client.V1Container(
        name="receiver", image="kappa.local/base:dev", image_pull_policy="Never",
        command=["python3", "-c", RECEIVER],
        ports=[client.V1ContainerPort(name="otlp-http", container_port=PORT)],
        readiness_probe=client.V1Probe(tcp_socket=client.V1TCPSocketAction(port=PORT),
                                       period_seconds=1),
        security_context=restricted(run_as_user=1000),
    )  # fmt: skip
    core.create_namespaced_pod(namespace, client.V1Pod(
        metadata=client.V1ObjectMeta(name="otlp-receiver", labels={"app": "otlp-receiver"}),
        spec=client.V1PodSpec(containers=[container], automount_service_account_token=False),
    ))  # fmt: skip

    def ready() -> str | None:
        pod = core.read_namespaced_pod("otlp-receiver", namespace)
        conditions = pod.status.conditions or ()
        up = any(c.type == "Ready" and c.status == "True" for c in conditions)
        return pod.status.pod_ip if up else None

    address = Cluster.wait(ready, "the OTLP receiver Ready", 120)
    assert address is not None
    return address


@pytest.fixture
def collector(
    cluster: Cluster, core: client.CoreV1Api, gateway: Gateway, namespace: str
) -> Iterator[str]:
    """The receiver's URL, named in the chart's tracing.otlpEndpoint; the chart's defaults after."""
    url = f"http://{receiver_pod(core, namespace)}:{PORT}"
    try:
        install_chart(cluster, "--reuse-values", "--set", f"tracing.otlpEndpoint={url}")
        # Helm's wait ends when the new operator pods are Ready, while an old one may still
        # lead (a standby of the old template can take the Lease mid-rollout): a Function
        # made then would get pods without the collector. Wait for a leader that knows it.
        Cluster.wait(lambda: leader_knows(core, url), "a leader that knows the collector", 180)
        yield url
    finally:
        install_chart(cluster)


def leader_knows(core: client.CoreV1Api, url: str) -> bool:
    """Whether the operator holding the Lease runs with tracing to ``url``."""
    lease = client.CoordinationV1Api(core.api_client).read_namespaced_lease(
        "kappa-operator", "kappa-system"
    )
    try:
        pod = core.read_namespaced_pod(lease.spec.holder_identity, "kappa-system")
    except client.exceptions.ApiException:
        return False
    if pod.spec is None or pod.metadata.deletion_timestamp is not None:
        return False
    env = {e.name: e.value for e in pod.spec.containers[0].env or []}
    return env.get("KAPPA_TRACING_OTLP_ENDPOINT") == url


def received(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/spans", timeout=10) as answer:
        return list(json.load(answer))


def call_spans(
    collector: str, spans_of: Callable[[str], dict[str, dict[str, Any]] | None], call: str
) -> dict[str, dict[str, Any]] | None:
    """The call's three spans, or a failure that says what the receiver holds."""
    try:
        found: dict[str, dict[str, Any]] | None = Cluster.wait(
            lambda: spans_of(call), f"the three spans of call {call} at the receiver", 60
        )
    except TimeoutError as error:
        held = {
            (s["service"], s["attributes"].get("faas.invocation_id")) for s in received(collector)
        }
        raise AssertionError(
            f"{error}; the receiver holds: {sorted(map(str, held))[:30]}"
        ) from None
    return found


@pytest.mark.timeout(900)
def test_a_call_without_a_trace_header_is_one_trace_from_gateway_to_handler(
    collector: str,
    kappa: Kappa,  # noqa: F811 - the fixture imported above
    gateway: Gateway,
    namespace: str,
    tmp_path: Path,
    api: client.ApiClient,
    core: client.CoreV1Api,
) -> None:
    kappa("init", "traced", "--runtime", "python3.11")
    (tmp_path / "traced/requirements.txt").write_text(REQUIREMENTS)
    (tmp_path / "traced/app.py").write_text(HANDLER)
    kappa("deploy", "traced", "--namespace", namespace)
    Cluster.wait(lambda: gateway.knows(namespace, "traced"), "the gateway to see traced", 60)

    def traced_pods_export() -> bool:  # made by an operator that knows the collector
        pods = core.list_namespaced_pod(namespace, label_selector="kappa.dev/function=traced")
        live = [p for p in pods.items if p.metadata.deletion_timestamp is None]
        names = [{e.name for e in p.spec.containers[0].env or []} for p in live]
        return bool(live) and all("KAPPA_TRACING_OTLP_ENDPOINT" in n for n in names)

    Cluster.wait(traced_pods_export, "traced's pods to export spans", 180)

    request = urllib.request.Request(
        f"{gateway.url}/2015-03-31/functions/{namespace}%2Ftraced/invocations",
        data=b"{}", method="POST",
    )  # fmt: skip
    with gateway.open(request, timeout=120) as answer:
        request_id = answer.headers["x-amzn-RequestId"]
        result = json.load(answer)
    assert result["trace"].startswith("Root=1-"), result

    def spans_of(call: str) -> dict[str, dict[str, Any]] | None:
        mine = [s for s in received(collector) if s["attributes"].get("faas.invocation_id") == call]
        by_service = {s["service"]: s for s in mine}
        wanted = {"kappa-gateway", "kappa-agent", "handler"}
        return by_service if wanted <= set(by_service) else None

    spans = call_spans(collector, spans_of, request_id)
    assert spans is not None
    gateway_span, agent_span, handler_span = (
        spans["kappa-gateway"], spans["kappa-agent"], spans["handler"]
    )  # fmt: skip
    assert gateway_span["traceId"] == agent_span["traceId"] == handler_span["traceId"]
    assert gateway_span["parentSpanId"] is None  # no trace header: the gateway began it
    assert agent_span["parentSpanId"] == gateway_span["spanId"]
    assert handler_span["parentSpanId"] == agent_span["spanId"]
    assert handler_span["name"] == "handler-work"
    assert gateway_span["attributes"]["faas.invoked_name"] == "traced"
    assert gateway_span["attributes"]["k8s.namespace.name"] == namespace
    trace = gateway_span["traceId"]
    assert result["trace"].startswith(
        f"Root=1-{trace[:8]}-{trace[8:]};Parent={agent_span['spanId']}"
    )

    # A cold call (the Function at zero pods): the gateway's span holds the wait for the new
    # pod, the agent's says cold with the runtime's init time. KAPPA_E2E_TRACE_OUT keeps its
    # spans (docs/images/trace-cold-call.svg is drawn from such a file).
    custom = client.CustomObjectsApi(api)
    custom.patch_namespaced_custom_object("kappa.dev", "v1alpha1", namespace, "functions", "traced",
                                          {"spec": {"scaling": {"scaleToZeroAfterSeconds": 0}}})  # fmt: skip

    def no_pod() -> bool:
        pods = core.list_namespaced_pod(namespace, label_selector="kappa.dev/function=traced")
        return not [p for p in pods.items if p.metadata.deletion_timestamp is None]

    Cluster.wait(no_pod, "traced at zero pods", 180)
    time.sleep(1)  # the gateways' watches have seen the last pod go
    with gateway.open(request, timeout=120) as answer:
        cold_id = answer.headers["x-amzn-RequestId"]
        assert answer.headers["X-Kappa-Cold-Start"] == "true"
    cold = call_spans(collector, spans_of, cold_id)
    assert cold is not None
    assert cold["kappa-gateway"]["attributes"]["faas.coldstart"] is True
    assert cold["kappa-agent"]["attributes"]["faas.coldstart"] is True
    assert cold["kappa-agent"]["attributes"]["kappa.init_duration_ms"] > 0
    if out := os.environ.get("KAPPA_E2E_TRACE_OUT"):
        Path(out).write_text(json.dumps(list(cold.values()), indent=2))
