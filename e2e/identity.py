"""The caller the e2e tests invoke as: ServiceAccount kappa-system/kappa-e2e, bound
cluster-wide to the chart's kappa-invoker, kappa-viewer and kappa-dlq-admin, with an
access key (for boto3, the AWS CLI and `kappa dlq`) and a bearer token (audience kappa,
for plain HTTP calls such as the HTTP trigger). e2e/test_auth.py tests the refusals."""

from __future__ import annotations

import json
import secrets
import string
import subprocess
from dataclasses import dataclass

NAMESPACE = "kappa-system"
ACCOUNT = "kappa-e2e"
ROLES = ("kappa-invoker", "kappa-viewer", "kappa-dlq-admin")


@dataclass(frozen=True)
class Identity:
    access_key_id: str
    secret_access_key: str
    token: str

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def new_key_id() -> str:
    return "KAPPA" + "".join(secrets.choice(string.ascii_uppercase + string.digits)
                             for _ in range(15))  # fmt: skip


def make_token(kubectl: list[str], namespace: str, account: str) -> str:
    return subprocess.run(
        [*kubectl, "-n", namespace, "create", "token", account, "--audience", "kappa",
         "--duration", "4h"], capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def access_key_secret(
    name: str, service_account: str, key_id: str, secret: str
) -> dict[str, object]:
    return {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": NAMESPACE,
                     "labels": {"kappa.dev/access-key": "true"}},
        "stringData": {"accessKeyId": key_id, "secretAccessKey": secret,
                       "serviceAccount": service_account},
    }  # fmt: skip


def apply(kubectl: list[str], *manifests: dict[str, object]) -> None:
    subprocess.run([*kubectl, "apply", "-f", "-"], check=True, capture_output=True,
                   input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(manifests)}),
                   text=True)  # fmt: skip


def e2e_identity(kubectl: list[str]) -> Identity:
    """Made (or made again) in the cluster: the SA, its bindings, a fresh key and token."""
    key_id, secret = new_key_id(), secrets.token_urlsafe(30)
    bindings = [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": f"{ACCOUNT}-{role}"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": role},
         "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": NAMESPACE}]}
        for role in ROLES
    ]  # fmt: skip
    apply(
        kubectl,
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": ACCOUNT, "namespace": NAMESPACE}},
        *bindings,
        access_key_secret(f"{ACCOUNT}-key", f"{NAMESPACE}/{ACCOUNT}", key_id, secret),
    )  # fmt: skip
    return Identity(key_id, secret, make_token(kubectl, NAMESPACE, ACCOUNT))
