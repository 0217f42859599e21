"""Operator failover on the real cluster: of the chart's two operator replicas one leads
(the Lease kappa-operator, its pod the operator Service's only endpoint). The leader's pod
is deleted at once (grace period 0, as a crash or a lost node would end it): the other
replica takes the Lease and the Service, and a call to a Function at zero pods, made
right after the kill by a caller that retries throttles as the AWS SDKs do, is answered.
The new leader then scales the idle Function to zero and starts it again for the next
call; the replacement replica stands by and no replica restarts. How long the takeover
took is printed (a figure for BENCHMARKS.md, not a bound). Every replica serves the
admission webhook, the standby too: it refuses a Function over its quota while the leader
is dead and before it leads itself.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import ssl
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config
from kubernetes import client
from tests.unit.api.quota_cases import quota

from e2e.cluster import Cluster
from e2e.conftest import Operator, own_namespace
from e2e.test_autoscaling import burst, create, live_pods
from e2e.test_function_crd import _refusal
from e2e.test_gateway import Gateway, sleeper
from kappa.api.names import GROUP, VERSION


@pytest.fixture
def ns(core: client.CoreV1Api) -> Iterator[str]:
    with own_namespace(core, "failover") as name:
        yield name


@pytest.mark.timeout(600)
def test_the_standby_takes_over_when_the_leader_dies(
    gateway: Gateway,
    api: client.ApiClient,
    core: client.CoreV1Api,
    operator: Operator,
    ns: str,
) -> None:
    create(api, gateway, ns, sleeper("cold", scaling={"scaleToZeroAfterSeconds": 15}))
    Cluster.wait(lambda: not live_pods(core, ns, "cold"), "no pod of cold left", 120)
    leader = operator.wait_for_leader()
    replicas = core.list_namespaced_pod("kappa-system", label_selector=Operator.SELECTOR).items
    assert len([p for p in replicas if p.metadata.deletion_timestamp is None]) == 2, [
        p.metadata.name for p in replicas
    ]

    killed = time.monotonic()
    core.delete_namespaced_pod(leader, "kappa-system", grace_period_seconds=0)
    caller = boto3.client(
        "lambda",
        endpoint_url=gateway.url,
        region_name="us-east-1",
        aws_access_key_id=gateway.identity.access_key_id,
        aws_secret_access_key=gateway.identity.secret_access_key,
        config=Config(retries={"mode": "standard", "total_max_attempts": 8}, read_timeout=60),
    )
    answer = caller.invoke(FunctionName=f"{ns}/cold", Payload=json.dumps({}))
    answered = time.monotonic() - killed
    body = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, body
    new_leader = Cluster.wait(
        lambda: (found := operator.leader()) != leader and found, "another replica leading", 120
    )
    took_over = time.monotonic() - killed
    assert body["pod"] in {p.metadata.name for p in live_pods(core, ns, "cold")}

    # The Deployment's new pod stands by (it says so once it has read the Lease), and the
    # new leader keeps the Lease: no replica lost it and restarted.
    def standing_by() -> list[str]:
        pods = core.list_namespaced_pod("kappa-system", label_selector=Operator.SELECTOR).items
        others = [p.metadata.name for p in pods if p.metadata.name not in (leader, new_leader)]
        return [
            name for name in others
            if "standing by" in core.read_namespaced_pod_log(name, "kappa-system")
        ]  # fmt: skip

    Cluster.wait(standing_by, "the replacement replica standing by", 120)
    assert operator.leader() == new_leader
    pods = core.list_namespaced_pod("kappa-system", label_selector=Operator.SELECTOR).items
    restarts = {p.metadata.name: p.status.container_statuses[0].restart_count for p in pods}
    assert set(restarts.values()) == {0}, restarts
    # Decisions are the new leader's now: the Function goes to zero again once idle, and
    # the next cold call starts it again.
    Cluster.wait(lambda: not live_pods(core, ns, "cold"), "cold at zero pods again", 120)
    again = json.loads(caller.invoke(FunctionName=f"{ns}/cold", Payload="{}")["Payload"].read())
    assert again["pod"] in {p.metadata.name for p in live_pods(core, ns, "cold")}, again
    retried = answer["ResponseMetadata"]["RetryAttempts"]
    print(  # noqa: T201 - the figure for BENCHMARKS.md
        f"\nleader {leader} killed; {new_leader} leads {took_over:.1f} s later; the cold call "
        f"was answered after {answered:.1f} s ({retried} retries)"
    )


def settled(core: client.CoreV1Api, ns: str, name: str, *, at_least: int) -> set[str] | None:
    """``name``'s live pods once there are ``at_least`` of them and the set stays the same
    for 5 s (None before)."""
    first = {p.metadata.name for p in live_pods(core, ns, name)}
    if len(first) < at_least:
        return None
    for _ in range(5):
        time.sleep(1)
        if {p.metadata.name for p in live_pods(core, ns, name)} != first:
            return None
    return first


@pytest.mark.timeout(600)
def test_ten_warm_pods_outlive_the_leader(
    gateway: Gateway,
    api: client.ApiClient,
    core: client.CoreV1Api,
    operator: Operator,
    ns: str,
) -> None:
    """A burst of ten calls leaves ten warm pods; the leader is killed at once. The new
    leader's autoscaler starts with no window and no decision: it keeps every pod it finds
    until the gateways' reports say otherwise (not one is deleted for 20 s after it leads,
    well within the stable window of 60 s)."""
    create(api, gateway, ns, sleeper("warm", scaling={"scaleToZeroAfterSeconds": 600}))
    results = burst(gateway.url, f"{ns}/warm", calls=10, sleep=3)
    assert all(kind == "ok" for kind, _ in results), results
    # Ten calls at once ask for ten pods or more (at the default targetUtilization of
    # 0.7, ceil(10 / 0.7) = 15 at most): whatever the burst left, once it stops changing.
    before = Cluster.wait(lambda: settled(core, ns, "warm", at_least=10), "ten warm pods", 120)
    leader = operator.wait_for_leader()
    core.delete_namespaced_pod(leader, "kappa-system", grace_period_seconds=0)
    Cluster.wait(
        lambda: (found := operator.leader()) != leader and found, "another replica leading", 120
    )
    until = time.monotonic() + 20
    while time.monotonic() < until:
        assert {p.metadata.name for p in live_pods(core, ns, "warm")} == before
        time.sleep(1)


WEBHOOK_SERVICE = "kappa-operator-webhook"
WEBHOOK_NAME = f"{WEBHOOK_SERVICE}.kappa-system.svc"  # the name the API server checks


def webhook_endpoints(discovery: client.DiscoveryV1Api) -> dict[str, str]:
    """The ready endpoints of the webhook's Service: pod name -> IP."""
    slices = discovery.list_namespaced_endpoint_slice(
        "kappa-system", label_selector=f"kubernetes.io/service-name={WEBHOOK_SERVICE}"
    ).items
    return {
        e.target_ref.name: e.addresses[0]
        for s in slices
        for e in s.endpoints or []
        if e.conditions is not None and e.conditions.ready and e.target_ref is not None
    }


def post_review(ip: str, ca_pem: bytes, path: str, body: dict[str, Any]) -> tuple[bytes, Any]:
    """POST an AdmissionReview of a CREATE of ``body`` to the webhook at ``ip`` over TLS,
    trusting ``ca_pem`` and checking the Service's name as the API server does; the
    certificate the replica presented (DER) and its review's ``response``."""
    review = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": GROUP, "version": VERSION, "kind": "Function"},
            "resource": {"group": GROUP, "version": VERSION, "resource": "functions"},
            "operation": "CREATE",
            "namespace": body["metadata"]["namespace"],
            "name": body["metadata"]["name"],
            "object": body,
            "oldObject": None,
            "userInfo": {"username": "e2e"},
            "dryRun": True,
        },
    }
    head, content, presented = post_raw(ip, ca_pem, path, json.dumps(review).encode())
    assert head.startswith(b"HTTP/1.1 200"), (head, content)
    return presented, json.loads(content)["response"]


def post_raw(ip: str, ca_pem: bytes, path: str, payload: bytes) -> tuple[bytes, bytes, bytes]:
    """POST ``payload`` to the webhook at ``ip`` over TLS (the Service's name checked): the
    answer's head, its body and the certificate the replica presented (DER)."""
    context = ssl.create_default_context(cadata=ca_pem.decode())
    with (
        socket.create_connection((ip, 9443), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=WEBHOOK_NAME) as tls,
    ):
        answer = b""
        # A server that answers before reading all of a body too large may close early.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            tls.sendall(
                f"POST {path} HTTP/1.1\r\nHost: {WEBHOOK_NAME}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
        with contextlib.suppress(ConnectionResetError):
            while chunk := tls.recv(65536):
                answer += chunk
        presented = tls.getpeercert(binary_form=True)
    head, _, content = answer.partition(b"\r\n\r\n")
    return head, content, presented or b""


def function(ns: str, name: str, reserved: int) -> dict[str, Any]:
    body = sleeper(name, concurrency={"reserved": reserved})
    body["metadata"]["namespace"] = ns
    return body


@pytest.mark.timeout(300)
def test_a_replica_answers_hostile_reviews_with_a_4xx_and_keeps_serving(
    api: client.ApiClient, core: client.CoreV1Api, ns: str
) -> None:
    """The webhook's port answers whoever reaches it: a body that is not JSON, not an
    AdmissionReview kopf can read, or over 1 MiB gets a 4xx that says why, and the
    replica goes on answering reviews."""
    discovery = client.DiscoveryV1Api(api)
    served = Cluster.wait(
        lambda: webhook_endpoints(discovery), "a replica ready behind the webhook's Service", 180
    )
    ip = next(iter(served.values()))
    secret = core.read_namespaced_secret(f"{WEBHOOK_SERVICE}-tls", "kappa-system")
    cert_pem = base64.b64decode(secret.data["tls.crt"])
    configuration = client.AdmissionregistrationV1Api(api).read_validating_webhook_configuration(
        "kappa.dev"
    )
    path = next(
        hook.client_config.service.path
        for hook in configuration.webhooks
        if hook.name == "quota.kappa.dev"
    )
    no_resource = {"request": {"uid": "u-1", "userInfo": {}, "object": {"metadata": {}}}}
    hostile = [
        (b"{not json", b"400", b""),
        (b"[]", b"400", b"an AdmissionReview must be a JSON object"),
        (json.dumps(no_resource).encode(), b"400", b"request.resource must name"),
        (b'{"pad": "' + b"x" * (3 << 19) + b'"}', b"413", b""),  # 1.5 MiB
    ]
    for payload, status, said in hostile:
        head, content, _ = post_raw(ip, cert_pem, path, payload)
        assert head.split(b" ")[1:2] == [status], (payload[:40], head, content[:200])
        assert said in content, content[:200]
    _, answer = post_review(ip, cert_pem, path, function(ns, "after-hostile", 1))
    assert answer["allowed"] is True, answer


@pytest.mark.timeout(600)
def test_every_replica_serves_the_webhook_and_the_standby_refuses_while_none_leads(
    api: client.ApiClient,
    core: client.CoreV1Api,
    operator: Operator,
    ns: str,
) -> None:
    """Both replicas serve the admission webhook behind its own Service, with the one
    certificate of the Secret kappa-operator-webhook-tls that the configuration trusts.
    The standby answers from its own watches: a Function over the namespace's quota is
    refused, one within admitted. The leader is then killed: before any replica has taken
    the Lease (about 10 s), the API server's own call (a dry-run create) is refused."""
    custom = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(
        GROUP, VERSION, ns, "concurrencyquotas", quota(maxConcurrency=10, maxReserved=2)
    )
    discovery = client.DiscoveryV1Api(api)
    leader = operator.wait_for_leader()

    def both() -> dict[str, str]:
        found = webhook_endpoints(discovery)
        return found if len(found) == 2 else {}

    served = Cluster.wait(both, "both operator replicas ready behind the webhook's Service", 180)
    assert leader in served, served
    standby = next(name for name in served if name != leader)

    secret = core.read_namespaced_secret(f"{WEBHOOK_SERVICE}-tls", "kappa-system")
    assert secret.type == "kubernetes.io/tls"
    cert_pem = base64.b64decode(secret.data["tls.crt"])
    configuration = client.AdmissionregistrationV1Api(api).read_validating_webhook_configuration(
        "kappa.dev"
    )
    hooks = {hook.name: hook for hook in configuration.webhooks}
    assert set(hooks) == {"quota.kappa.dev", "runtimes.kappa.dev"}, set(hooks)
    for hook in hooks.values():
        assert hook.client_config.service.name == WEBHOOK_SERVICE
        assert base64.b64decode(hook.client_config.ca_bundle) == cert_pem
        assert hook.failure_policy == "Ignore"
    path = hooks["quota.kappa.dev"].client_config.service.path

    # Each replica presents the Secret's certificate.
    expected_der = ssl.PEM_cert_to_DER_cert(cert_pem.decode())
    over, within = function(ns, "over", 3), function(ns, "within", 2)
    for ip in served.values():
        presented, _ = post_review(ip, cert_pem, path, within)
        assert presented == expected_der

    # The standby refuses over the quota (once its watch has shown it the quota) ...
    def refused_by(ip: str) -> str:
        _, response = post_review(ip, cert_pem, path, over)
        return "" if response["allowed"] else str(response["status"]["message"])

    said = Cluster.wait(lambda: refused_by(served[standby]), "the standby refusing", 60)
    assert "over its ConcurrencyQuota's maxReserved 2" in said, said
    _, admitted = post_review(served[standby], cert_pem, path, within)
    assert admitted["allowed"] is True, admitted
    assert not admitted.get("warnings"), admitted  # it has listed everything

    # ... and goes on refusing, through the API server, while the leader is dead and no
    # replica leads yet.
    leases = client.CoordinationV1Api(api)
    killed = time.monotonic()
    core.delete_namespaced_pod(leader, "kappa-system", grace_period_seconds=0)
    assert refused_by(served[standby]), "the standby stopped refusing"
    Cluster.wait(
        lambda: "maxReserved 2" in _refusal(
            lambda: custom.create_namespaced_custom_object(
                GROUP, VERSION, ns, "functions", over, dry_run="All"
            )
        ),
        "the API server's webhook call refused with the leader dead",
        30,
    )  # fmt: skip
    refused_at, refused_after = datetime.now(UTC), time.monotonic() - killed
    # The standby or the Deployment's replacement, whichever reads the expired Lease
    # first, leads; either way no replica led when the call was refused.
    new_leader = Cluster.wait(
        lambda: (found := operator.leader()) != leader and found, "another replica leading", 120
    )
    taken = leases.read_namespaced_lease("kappa-operator", "kappa-system").spec.acquire_time
    led_after = time.monotonic() - killed
    assert refused_at < taken, (refused_at, taken)
    print(  # noqa: T201 - a figure for BENCHMARKS.md
        f"\nleader killed; the API server's call refused {refused_after:.1f} s later; "
        f"{'the standby' if new_leader == standby else 'the replacement'} led "
        f"{led_after:.1f} s after the kill"
    )

    # The replacement replica comes up behind the Service too, and every replica refuses.
    def replaced() -> dict[str, str]:
        found = both()
        return {} if leader in found else found

    now_served = Cluster.wait(
        replaced, "the replacement replica ready behind the webhook's Service", 180
    )
    for ip in now_served.values():
        Cluster.wait(lambda ip=ip: refused_by(ip), f"the replica at {ip} refusing", 60)
