"""The installed gateway as the e2e tests reach it: its Service's URL, its logs, and the
e2e caller's credentials (e2e/identity.py). `conftest.gateway` makes it once a session."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from kubernetes import client

from e2e.cluster import Cluster
from e2e.identity import Identity, e2e_identity

SELECTOR = "app.kubernetes.io/name=kappa,app.kubernetes.io/component=gateway"


class Gateway:
    """The installed gateway: its Service's URL and logs, and the e2e caller's credentials
    (e2e/identity.py; its access key is also in the environment, for the AWS CLI)."""

    def __init__(self, kubectl: list[str], core: client.CoreV1Api, identity: Identity) -> None:
        self._kubectl = [*kubectl, "-n", "kappa-system"]
        self._core = core
        self.identity = identity

    @property
    def url(self) -> str:
        """The Service's URL, read each time: a reinstall of the chart (test_chart) gives the
        Service a new ClusterIP."""
        service = self._core.read_namespaced_service("kappa-gateway", "kappa-system")
        return f"http://{service.spec.cluster_ip}"

    def lambda_client(self) -> Any:
        return lambda_client_at(self.url, self.identity)

    def open(self, request: urllib.request.Request, timeout: float = 30) -> Any:
        """urlopen with the e2e caller's bearer token."""
        for header, value in self.identity.bearer().items():
            request.add_header(header, value)
        return urllib.request.urlopen(request, timeout=timeout)

    def knows(self, namespace: str, name: str) -> bool:
        """Whether GetFunction finds it (the watch has seen it)."""
        lam = self.lambda_client()
        try:
            lam.get_function(FunctionName=f"{namespace}/{name}")
        except lam.exceptions.ResourceNotFoundException:
            return False
        return True

    def logs(self) -> str:
        done = subprocess.run(
            [*self._kubectl, "logs", "-l", SELECTOR, "--tail=100", "--prefix"],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout + done.stderr


def installed(kubectl: list[str], core: client.CoreV1Api) -> Gateway:
    """The gateway restarted (so a freshly imported image runs) and rolled out, answering
    the e2e caller, who is made here."""
    system = [*kubectl, "-n", "kappa-system"]
    subprocess.run([*system, "rollout", "restart", "deployment/kappa-gateway"], check=True)
    subprocess.run(
        [*system, "rollout", "status", "deployment/kappa-gateway", "--timeout=180s"], check=True
    )
    found = Gateway(kubectl, core, e2e_identity(kubectl))
    url = found.url

    def answers() -> bool:
        try:
            request = urllib.request.Request(f"{url}/2016-08-19/account-settings")
            with found.open(request, timeout=5) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    Cluster.wait(answers, f"the gateway Service at {url} to answer", 60)
    return found


def lambda_client_at(url: str, identity: Identity | None = None) -> Any:
    """A boto3 client for one gateway pod (or the Service), retries off (a 429 must reach the
    test as it is), signing with ``identity``'s access key, else the environment's (the
    `gateway` fixture puts the e2e caller's there)."""
    keys = {}
    if identity is not None:
        keys = {"aws_access_key_id": identity.access_key_id,
                "aws_secret_access_key": identity.secret_access_key}  # fmt: skip
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=60),
        **keys,
    )


# The answer a throttle by admission carries (kappa.gateway.admission): a call that waited
# in the queue and gave up says "No capacity became free for this function in time.".
ADMISSION_THROTTLE_MESSAGE = "Rate Exceeded."


def burst_at(name: str, urls: list[str], calls_per_url: int, sleep: float) -> list[Any]:
    """Call ``name`` (a handler that sleeps ``sleep`` seconds and says when it started and
    ended) from ``calls_per_url`` clients per URL at once. Each result is ("ok", body) or
    ("error", response), and the wall clock when the answer came, to set beside the
    handler's times (every pod is on the one node)."""
    clients = [lambda_client_at(url) for url in urls for _ in range(calls_per_url)]
    barrier = threading.Barrier(len(clients))

    def call(lam: Any) -> tuple[str, Any, float]:
        barrier.wait()
        try:
            response = lam.invoke(FunctionName=name, Payload=json.dumps({"sleep": sleep}))
        except ClientError as exc:
            return "error", exc.response, time.time()
        return "ok", json.loads(response["Payload"].read()), time.time()

    with ThreadPoolExecutor(len(clients)) as pool:
        return list(pool.map(call, clients))


def routes_to_both_pods(url: str, name: str) -> bool:
    """Whether two calls at once through ``url`` to ``name`` (two pods of one slot, the
    handler answering its ``pod``) run on two pods: they do once that gateway replica's pod
    watch has both Ready pods; with one, the second call waits for the first's slot."""
    results = burst_at(name, [url], 2, sleep=1)
    if any(kind != "ok" for kind, _, _ in results):
        return False
    return len({body["pod"] for _, body, _ in results}) == 2


def metric(url: str, name: str) -> float:
    """The sum of the samples of ``name`` (all its labels) in ``url``'s /metrics (open to
    all, like the probes)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and line[len(name)] in " {"
    )
