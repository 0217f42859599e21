"""An operator restart (an upgrade, a node drain) on the real cluster: the Function's
scaled-out pods are kept until the gateways' reports reach the new operator (not cut to
one by a first decision made with no reports), and a mapping changed after the restart
still reaches its poller Deployment (the operator may update the pollers' Role and
RoleBinding it finds from before the restart, by name).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import Operator, own_namespace
from e2e.test_autoscaling import burst, create, live_pods
from e2e.test_esm import mapping_manifest
from e2e.test_gateway import GROUP, VERSION, Gateway, sleeper

# After the restart, how long the pods that were there are watched: well inside the
# minute the new operator holds live pods without reports, well past its first ticks.
WATCH_SECONDS = 20


@pytest.fixture
def ns(core: client.CoreV1Api) -> Iterator[str]:
    with own_namespace(core, "restart") as name:
        yield name


def mapping(name: str, function: str, payload: str) -> dict[str, Any]:
    # Once a year: the mapping is there for its poller Deployment, not its events.
    return mapping_manifest(name, function, schedule={"cron": "0 0 1 1 *", "payload": payload})


def poller_payload(apps: client.AppsV1Api, namespace: str, name: str) -> str | None:
    try:
        deployment = apps.read_namespaced_deployment(f"esm-{name}", namespace)
    except client.ApiException:
        return None
    env = {e.name: e.value for e in deployment.spec.template.spec.containers[0].env or []}
    document = json.loads(env.get("KAPPA_ESM_MAPPING") or "{}")
    return str(document.get("spec", {}).get("schedule", {}).get("payload"))


def test_a_restart_keeps_scaled_out_pods_and_keeps_serving_mappings(
    gateway: Gateway,
    api: client.ApiClient,
    core: client.CoreV1Api,
    operator: Operator,
    ns: str,
) -> None:
    apps = client.AppsV1Api(api)
    mappings = client.CustomObjectsApi(api)
    create(api, gateway, ns, sleeper("busy"))
    mappings.create_namespaced_custom_object(
        GROUP, VERSION, ns, "eventsourcemappings", mapping("yearly", "busy", '{"n": 1}')
    )
    Cluster.wait(lambda: poller_payload(apps, ns, "yearly") == '{"n": 1}', "poller Deployment", 60)

    results = burst(gateway.url, f"{ns}/busy")  # six calls of 2 s at once: scaled out
    assert all(kind == "ok" for kind, _ in results), results
    before = {p.metadata.name for p in live_pods(core, ns, "busy")}
    assert len(before) >= 3, before

    operator.stop()
    operator.start()
    started = time.monotonic()
    while time.monotonic() - started < WATCH_SECONDS:
        now = {p.metadata.name for p in live_pods(core, ns, "busy")}
        assert before <= now, (
            f"pods removed {time.monotonic() - started:.1f} s after the operator came back: "
            f"{sorted(before - now)}\n{operator.logs()}"
        )
        time.sleep(0.5)

    # A change made after the restart reaches the poller: the Role and RoleBinding the
    # previous operator made are updated in place, not refused.
    mappings.patch_namespaced_custom_object(
        GROUP, VERSION, ns, "eventsourcemappings", "yearly",
        {"spec": {"schedule": {"payload": '{"n": 2}'}}},
    )  # fmt: skip
    Cluster.wait(
        lambda: poller_payload(apps, ns, "yearly") == '{"n": 2}',
        f"the changed mapping in its poller Deployment\n{operator.logs()}",
        90,
    )
    assert "Forbidden" not in operator.logs()
