"""A python3.11 Function whose code comes in an image of code only (FROM scratch and files,
built as the project's images are, without a registry): its pods copy the image's
/var/task into the task root and run it on the python3.11 image; an image with a link
out of its code is refused, and the Function's status says which file.

The images are imported into the local cluster's containerd, so the test needs the local
cluster (on another cluster, push them to its registry and use that reference)."""

from __future__ import annotations

import json
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from e2e.cluster import Cluster
from e2e.code_image import build_code_image, image_files, import_into_local_cluster
from e2e.conftest import Operator
from e2e.gateway import Gateway

GROUP, VERSION, PLURAL = "kappa.dev", "v1alpha1", "functions"
APP = """\
from pkg import helper


def handler(event, context):
    return {"greeting": helper.greet(event["name"]), "function": context.function_name}
"""
HELPER = "def greet(name):\n    return 'hello ' + name\n"


def code_image(cluster: Cluster, tmp_path: Path, name: str, links: dict[str, str]) -> str:
    if not cluster.is_local:
        pytest.skip(
            "needs the local cluster: the image is imported into its containerd, there is no registry an external cluster could pull it from"
        )
    ref = f"kappa.local/e2e-{name}:{uuid.uuid4().hex[:8]}"
    work = tmp_path / name
    work.mkdir()
    files = {"app.py": APP, "pkg/__init__.py": "", "pkg/helper.py": HELPER}
    archive = build_code_image(files, links, ref, work)
    assert "var/task/pkg/helper.py" in image_files(archive, work)
    import_into_local_cluster(archive)
    return ref


def function(name: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Function",
        "metadata": {"name": name},
        "spec": {"runtime": "python3.11", "handler": "app.handler", "code": {"image": image}},
    }


def ready_condition(functions: client.CustomObjectsApi, namespace: str, name: str) -> Any:
    fn = functions.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    conditions = (fn.get("status") or {}).get("conditions") or []
    return {c["type"]: c for c in conditions}


@pytest.mark.timeout(420)
def test_a_code_image_runs_on_the_python_runtime(
    cluster: Cluster,
    api: client.ApiClient,
    core: client.CoreV1Api,
    gateway: Gateway,
    namespace: str,
    tmp_path: Path,
) -> None:
    image = code_image(cluster, tmp_path, "code-hello", {"pkg/app.py": "../app.py"})
    functions = client.CustomObjectsApi(api)
    functions.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, function("from-image", image)
    )

    def ready() -> bool:
        found = ready_condition(functions, namespace, "from-image").get("Ready")
        return bool(found and found["status"] == "True")

    Cluster.wait(ready, "Function from-image Ready", 240, interval=1)
    Cluster.wait(partial(gateway.knows, namespace, "from-image"), "the gateway to see it", 30)
    answer = gateway.lambda_client().invoke(
        FunctionName=f"{namespace}/from-image", Payload=json.dumps({"name": "scratch"})
    )
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {
        "greeting": "hello scratch",
        "function": "from-image",
    }
    # The code came through the init containers onto the runtime's image.
    (pod,) = [
        p
        for p in core.list_namespaced_pod(
            namespace, label_selector="kappa.dev/function=from-image"
        ).items
        if p.metadata.deletion_timestamp is None
    ]
    assert [c.image for c in pod.spec.init_containers] == [pod.spec.containers[0].image, image]
    assert "runtime-python3.11" in pod.spec.containers[0].image
    assert all(s.state.terminated.exit_code == 0 for s in pod.status.init_container_statuses)


@pytest.mark.timeout(420)
def test_a_code_image_with_a_link_out_of_its_code_is_refused(
    cluster: Cluster, api: client.ApiClient, operator: Operator, namespace: str, tmp_path: Path
) -> None:
    image = code_image(cluster, tmp_path, "code-escape", {"secrets": "/etc/passwd"})
    functions = client.CustomObjectsApi(api)
    functions.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, function("escapes", image)
    )

    def refused() -> dict[str, Any] | None:
        conditions = ready_condition(functions, namespace, "escapes")
        code = conditions.get("CodeReady")
        return code if code and code["status"] == "False" else None

    code = Cluster.wait(refused, "Function escapes CodeReady=False", 240, interval=1)
    assert code["reason"] == "InitError"
    assert code["message"].startswith("Kappa.CodeUnsafe: secrets: the symbolic link points to")
    ready = ready_condition(functions, namespace, "escapes")["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "InitError")
