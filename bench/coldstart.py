"""make bench-coldstart-phases: how long a Function takes to answer from nothing, by phase.

Two measurements on the local cluster (or KUBECONFIG), medians of --runs:

1. Pod creation → first response. The pod is a clone of the one the operator
   made for a Function (same image, code, env, probes), created directly so
   that nothing but the pod's own start is timed. Phases, seen from here:
   schedule (create → nodeName), start (→ container running: sandbox, image,
   container), first response (→ first 200 from the agent's /invoke, polled
   every 5 ms once the pod has an IP), of which runtime init is the agent's
   Init Duration; and Ready (→ the kubelet's Ready, period 1 s probes).
2. kubectl apply → Ready: a new Function until its Ready condition is True,
   through the real operator.

Prints figures; asserts nothing. Usage:
    python bench/coldstart.py [--runs 5] [--runtime python3.11]
java17's code is a jar compiled here with javac (a JDK >= 17 on the machine).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch

REPO = Path(__file__).resolve().parent.parent
GROUP, VERSION, PLURAL = "kappa.dev", "v1alpha1", "functions"
CODE = {
    "python3.11": ("app.handler", {"app.py": "def handler(event, context):\n    return event\n"}),
    "nodejs22": ("index.handler", {"index.js": "exports.handler = async (e) => e;\n"}),
    "nodejs20": ("index.handler", {"index.js": "exports.handler = async (e) => e;\n"}),
    # Compiled: the code is a jar in a ConfigMap (prepare_code), not inline sources.
    "java17": ("bench.Echo::handleRequest", {}),
}
# java17's echo handler: a plain method (Lambda's Class::method), no library needed.
JAVA_ECHO = """package bench;

public class Echo {
    public java.util.Map<String, Object> handleRequest(java.util.Map<String, Object> event) {
        return event;
    }
}
"""
JAVA_CODE_CONFIGMAP = "coldstart-java-code"


def function(name: str, runtime: str) -> dict[str, Any]:
    handler, files = CODE[runtime]
    code: dict[str, Any] = {"inline": files}
    if runtime.startswith("java"):
        code = {"configMap": {"name": JAVA_CODE_CONFIGMAP, "archive": "code.zip"}}
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Function",
        "metadata": {"name": name},
        "spec": {"runtime": runtime, "handler": handler, "code": code},
    }


def java_jar() -> bytes:
    """JAVA_ECHO compiled with javac (Java 17) into a jar, as a Java function's code."""
    with tempfile.TemporaryDirectory() as work:
        source = Path(work, "src/bench/Echo.java")
        source.parent.mkdir(parents=True)
        source.write_text(JAVA_ECHO)
        classes = Path(work, "classes")
        subprocess.run(
            ["javac", "--release", "17", "-d", str(classes), str(source)], check=True, timeout=300
        )
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as jar:
            for path in sorted(classes.rglob("*.class")):
                jar.write(path, path.relative_to(classes).as_posix())
        return out.getvalue()


def prepare_code(core: client.CoreV1Api, namespace: str, runtime: str) -> None:
    """What `runtime`'s Functions need before they are made: java17's jar in its ConfigMap."""
    if not runtime.startswith("java"):
        return
    archive = base64.b64encode(java_jar()).decode()
    core.create_namespaced_config_map(
        namespace,
        client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=JAVA_CODE_CONFIGMAP),
            binary_data={"code.zip": archive},
        ),
    )


def ready_condition(fn: dict[str, Any]) -> bool:
    conditions = (fn.get("status") or {}).get("conditions") or []
    generation = fn["metadata"]["generation"]
    return any(
        c["type"] == "Ready" and c["status"] == "True" and c.get("observedGeneration") == generation
        for c in conditions
    )


def wait(probe: Any, what: str, timeout: float = 180, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := probe():
            return result
        time.sleep(interval)
    raise TimeoutError(what)


def apply_to_ready(custom: client.CustomObjectsApi, namespace: str, runtime: str) -> float:
    name = f"cs-{uuid.uuid4().hex[:6]}"
    start = time.monotonic()
    custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, function(name, runtime)
    )
    wait(
        lambda: ready_condition(
            custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        ),
        f"Function {name} Ready",
    )
    elapsed = time.monotonic() - start
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    return elapsed


def template_pod(core: client.CoreV1Api, namespace: str, name: str) -> dict[str, Any]:
    """The operator's pod for Function `name`, stripped to a creatable manifest."""
    pod = wait(
        lambda: (
            core.list_namespaced_pod(namespace, label_selector=f"kappa.dev/function={name}").items
        ),
        "the operator's pod",
    )[0]
    raw = client.ApiClient().sanitize_for_serialization(pod)
    spec = raw["spec"]
    for key in ("nodeName", "serviceAccountName", "serviceAccount"):
        spec.pop(key, None)
    spec["volumes"] = [v for v in spec["volumes"] if not v["name"].startswith("kube-api-access")]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"labels": {"kappa.dev/bench": "coldstart"}},
        "spec": spec,
    }


def pod_to_first_response(
    core: client.CoreV1Api, namespace: str, template: dict[str, Any]
) -> dict[str, float]:
    name = f"cold-{uuid.uuid4().hex[:6]}"
    manifest = json.loads(json.dumps(template))
    manifest["metadata"]["name"] = name
    marks: dict[str, float] = {}
    ip: list[str] = []
    seen = threading.Event()

    def watcher() -> None:
        w = watch.Watch()
        for event in w.stream(
            core.list_namespaced_pod,
            namespace,
            field_selector=f"metadata.name={name}",
            timeout_seconds=120,
        ):
            pod = event["object"]
            now = time.monotonic()
            if pod.spec.node_name and "scheduled" not in marks:
                marks["scheduled"] = now
            if pod.status.pod_ip and not ip:
                ip.append(pod.status.pod_ip)
                seen.set()
            for status in pod.status.container_statuses or []:
                if status.state.running and "started" not in marks:
                    marks["started"] = now
            if any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []):
                marks.setdefault("ready", now)
                w.stop()

    thread = threading.Thread(target=watcher, daemon=True)
    thread.start()
    time.sleep(0.3)  # the watch is open before the pod exists
    t0 = time.monotonic()
    core.create_namespaced_pod(namespace, manifest)
    seen.wait(120)
    init_ms = 0.0
    while True:
        try:
            request = urllib.request.Request(
                f"http://{ip[0]}:8080/invoke", data=b"{}", method="POST"
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    marks["first"] = time.monotonic()
                    init_ms = float(response.headers.get("X-Kappa-Init-Duration-Ms") or 0)
                    break
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() - t0 > 120:
            raise TimeoutError(f"pod {name} never answered")
        time.sleep(0.005)
    thread.join(60)
    core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    return {
        "schedule (create -> nodeName)": marks["scheduled"] - t0,
        "sandbox + container start": marks["started"] - marks["scheduled"],
        "agent + runtime -> answer": marks["first"] - marks["started"],
        "  of which runtime init": init_ms / 1000,
        "TOTAL create -> first response": marks["first"] - t0,
        "create -> kubelet Ready": marks.get("ready", float("nan")) - t0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--runtime", default="python3.11", choices=sorted(CODE))
    args = parser.parse_args()
    kubeconfig = os.environ.get("KUBECONFIG") or str(REPO / ".local-cluster/kubeconfig")
    if not os.environ.get("KUBECONFIG"):
        subprocess.run([str(REPO / "e2e/local/cluster-up.sh")], check=True)
    kubectl = (
        subprocess.run(
            [str(REPO / "e2e/local/build-k8s.sh")], check=True, capture_output=True, text=True
        ).stdout.strip()
        + "/kubectl"
    )
    subprocess.run(
        [kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side", "-f", str(REPO / "crds")],
        check=True,
        capture_output=True,
    )
    config.load_kube_config(kubeconfig)
    core, custom = client.CoreV1Api(), client.CustomObjectsApi()
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    env = {**os.environ, "KUBECONFIG": kubeconfig, "KAPPA_LOG_LEVEL": "WARNING"}
    operator = subprocess.Popen(
        [sys.executable, "-m", "kappa", "operator"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait(
            lambda: core.list_namespaced_service_account(namespace).items, "default service account"
        )
        prepare_code(core, namespace, args.runtime)
        warmup = apply_to_ready(
            custom, namespace, args.runtime
        )  # images into page cache, operator warm
        applies = [apply_to_ready(custom, namespace, args.runtime) for _ in range(args.runs)]
        custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, function("template", args.runtime)
        )
        template = template_pod(core, namespace, "template")
        pods = [pod_to_first_response(core, namespace, template) for _ in range(args.runs)]
    finally:
        operator.terminate()
        operator.wait(30)
        core.delete_namespace(namespace)
    print(
        f"cold start, runtime {args.runtime}, {args.runs} runs (medians, seconds; warm-up apply {warmup:.2f})"
    )
    for phase in pods[0]:
        values = [p[phase] for p in pods]
        print(
            f"  {phase:<32} {statistics.median(values):6.3f}   (min {min(values):.3f}, max {max(values):.3f})"
        )
    print(
        f"  {'kubectl apply -> Function Ready':<32} {statistics.median(applies):6.3f}   (min {min(applies):.3f}, max {max(applies):.3f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
