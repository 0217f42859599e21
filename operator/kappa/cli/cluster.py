"""What the author's commands ask of the kubeconfig's cluster.

Kappa, its gateway, applying a package and a Function, a Function's state and its
pods' logs.

Every failure is a ClusterError whose message says what to run: no kubeconfig or no
cluster answering, Kappa not installed, no gateway Service.
"""

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from kappa.api.names import FUNCTION_LABEL

if TYPE_CHECKING:
    from kappa.versions.publish import Published

FIELD_MANAGER: Final = "kappa-cli"
GROUP: Final = "kappa.dev"
VERSION: Final = "v1alpha1"
FUNCTIONS_CRD: Final = "functions.kappa.dev"
GATEWAY_SELECTOR: Final = "app.kubernetes.io/name=kappa,app.kubernetes.io/component=gateway"
_NOT_FOUND: Final = 404
_PLURALS: Final = {"Function": "functions", "Layer": "layers"}
_REQUEST_TIMEOUT: Final = 30


class ClusterError(Exception):
    """The cluster cannot do what was asked; the message says what to run."""


@dataclass(frozen=True)
class GatewayService:
    """The gateway's Service: where to reach it in the cluster, and how to port-forward."""

    namespace: str
    name: str
    cluster_ip: str | None
    port: int

    @property
    def url(self) -> str | None:
        """The Service's address inside the cluster (None: headless)."""
        return (
            None if self.cluster_ip in {None, "None"} else f"http://{self.cluster_ip}:{self.port}"
        )


class Cluster:
    """The kubeconfig's cluster, through the Kubernetes client."""

    def __init__(self, context: str | None = None) -> None:
        try:
            config.load_kube_config(context=context)
        except (ConfigException, OSError, TypeError) as error:
            msg = (
                f"no cluster to talk to ({error}): set KUBECONFIG or run "
                "kubectl config use-context NAME (kind create cluster makes one)"
            )
            raise ClusterError(msg) from error
        self.configuration = client.Configuration.get_default_copy()
        self._api = client.ApiClient(self.configuration)
        self.core = client.CoreV1Api(self._api)
        self.custom = client.CustomObjectsApi(self._api)
        _, active = config.list_kube_config_contexts()
        self.context_namespace: str | None = (active or {}).get("context", {}).get("namespace")

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except ApiException:
            raise
        except (HTTPError, OSError) as error:
            msg = (
                f"the cluster at {self.configuration.host} does not answer ({what}: {error}): "
                "start it, or pick another with kubectl config use-context"
            )
            raise ClusterError(msg) from error

    def bearer_token(self) -> str | None:
        """The kubeconfig user's bearer token (a token or an exec plugin's); None: a certificate."""
        # The client keeps it as BearerToken (older releases: authorization); an exec
        # plugin's is refreshed by this call.
        value = self.configuration.get_api_key_with_prefix("BearerToken", alias="authorization")
        return str(value or "").removeprefix("Bearer ").strip() or None

    def check_kappa(self) -> None:
        """ClusterError unless Kappa's Function CRD is installed."""
        extensions = client.ApiextensionsV1Api(self._api)
        try:
            self._call(
                "reading Kappa's CRDs",
                lambda: extensions.read_custom_resource_definition(
                    FUNCTIONS_CRD, _request_timeout=_REQUEST_TIMEOUT
                ),
            )
        except ApiException as error:
            if error.status == _NOT_FOUND:
                msg = (
                    f"Kappa is not installed in the cluster at {self.configuration.host}: "
                    "helm install kappa charts/kappa -n kappa-system --create-namespace"
                )
                raise ClusterError(msg) from error
            # 403: the user may not read CRDs; the Function's own calls will tell.

    def gateway(self, namespace: str) -> GatewayService:
        """Kappa's gateway Service in ``namespace`` (ClusterError saying how to install it)."""
        try:
            found = self._call(
                "finding the gateway",
                lambda: self.core.list_namespaced_service(
                    namespace, label_selector=GATEWAY_SELECTOR, _request_timeout=_REQUEST_TIMEOUT
                ),
            )
        except ApiException as error:
            msg = f"cannot list Services in {namespace} ({error.reason}): pass --gateway URL"
            raise ClusterError(msg) from error
        if not found.items:
            msg = (
                f"no Kappa gateway Service in namespace {namespace}: install Kappa "
                "(helm install kappa charts/kappa -n kappa-system), pass --kappa-namespace "
                "where it runs, or --gateway URL"
            )
            raise ClusterError(msg)
        service = found.items[0]
        ports = service.spec.ports or []
        port = next((p.port for p in ports if p.name == "http"), ports[0].port if ports else 80)
        return GatewayService(namespace, service.metadata.name, service.spec.cluster_ip, port)

    def apply(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply ``manifest`` (a ConfigMap, Function or Layer) as ``kappa-cli``."""
        meta = manifest["metadata"]
        options = {
            "field_manager": FIELD_MANAGER,
            "force": True,
            "_content_type": "application/apply-patch+yaml",
            "_request_timeout": _REQUEST_TIMEOUT,
        }
        try:
            if manifest["kind"] == "ConfigMap":
                result = self._call(
                    "applying the package",
                    lambda: self.core.patch_namespaced_config_map(
                        meta["name"], meta["namespace"], manifest, **options
                    ),
                )
                return dict(self._api.sanitize_for_serialization(result))
            plural = _PLURALS[manifest["kind"]]
            # Read raw: the client maps only 200 to a body, and an apply that creates the
            # object answers 201 (it would hand back None).
            response = self._call(
                f"applying the {manifest['kind']}",
                lambda: self.custom.patch_namespaced_custom_object(
                    GROUP, VERSION, meta["namespace"], plural, meta["name"], manifest,
                    _preload_content=False, **options,
                ),
            )  # fmt: skip
            return dict(json.loads(response.data))
        except ApiException as error:
            msg = f"{manifest['kind']} {meta['namespace']}/{meta['name']}: {_reason(error)}"
            raise ClusterError(msg) from error

    def function(self, namespace: str, name: str) -> dict[str, Any]:
        """The Function (ClusterError saying to deploy it when it is not there)."""
        try:
            return dict(
                self._call(
                    "reading the Function",
                    lambda: self.custom.get_namespaced_custom_object(
                        GROUP, VERSION, namespace, "functions", name,
                        _request_timeout=_REQUEST_TIMEOUT,
                    ),
                )
            )  # fmt: skip
        except ApiException as error:
            if error.status == _NOT_FOUND:
                msg = f"no Function {name} in namespace {namespace}: kappa deploy DIR first"
                raise ClusterError(msg) from error
            raise ClusterError(f"Function {namespace}/{name}: {_reason(error)}") from error

    def has_function(self, namespace: str, name: str) -> bool:
        """Whether the Function exists (ClusterError when that cannot be read)."""
        try:
            self.function(namespace, name)
        except ClusterError as error:
            if isinstance(error.__cause__, ApiException) and error.__cause__.status == _NOT_FOUND:
                return False
            raise
        return True

    def publish(self, namespace: str, name: str, description: str | None) -> "Published":
        """Publish a version of the Function (see ``kappa.versions.publish``)."""
        from kappa.versions.publish import publish  # noqa: PLC0415

        try:
            published: Published = self._call(
                "publishing", lambda: publish(self._api, namespace, name, description)
            )
        except ApiException as error:
            raise ClusterError(f"publishing {namespace}/{name}: {_reason(error)}") from error
        return published

    def pod_names(self, namespace: str, function: str) -> list[str]:
        """The Function's pods, oldest first."""
        pods = self._call(
            "listing the Function's pods",
            lambda: self.core.list_namespaced_pod(
                namespace,
                label_selector=f"{FUNCTION_LABEL}={function}",
                _request_timeout=_REQUEST_TIMEOUT,
            ),
        ).items
        pods.sort(key=lambda p: p.metadata.creation_timestamp)
        return [p.metadata.name for p in pods]

    def log_lines(self, namespace: str, pod: str, *, follow: bool) -> Iterator[str]:
        """The lines of the pod's function container (agent: START/END/REPORT and output)."""
        try:
            response = self.core.read_namespaced_pod_log(
                pod, namespace, container="function", follow=follow, _preload_content=False
            )
        except ApiException as error:
            if error.status == _NOT_FOUND:
                return  # the pod went (scaled away) between the listing and the read
            raise ClusterError(f"logs of {pod}: {_reason(error)}") from error
        pending = b""
        for chunk in response.stream(4096):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line.decode("utf-8", "replace")
        if pending:
            yield pending.decode("utf-8", "replace")


def follow_pods(
    cluster: Cluster, namespace: str, function: str, emit: Callable[[str, str], None]
) -> None:
    """Print every pod's lines as they come, picking up pods that start later; until ^C."""
    followed: set[str] = set()
    lock = threading.Lock()

    def run(pod: str) -> None:
        for line in cluster.log_lines(namespace, pod, follow=True):
            with lock:
                emit(pod, line)
        followed.discard(pod)

    while True:
        for pod in cluster.pod_names(namespace, function):
            if pod not in followed:
                followed.add(pod)
                threading.Thread(target=run, args=(pod,), daemon=True).start()
        time.sleep(2)


def ready_condition(
    function: dict[str, Any], code_sha256: str | None = None
) -> tuple[str, str, str]:
    """(status, reason, message) of the Function's Ready condition; Unknown before any.

    With ``code_sha256``: Unknown too until the operator runs that code (status.codeSha256),
    since a new package under the same spec leaves the generation as it was.
    """
    status = function.get("status") or {}
    if code_sha256 is not None and status.get("codeSha256") != code_sha256:
        return "Unknown", "NewCode", "the operator has not rolled the new package yet"
    conditions: Iterable[dict[str, Any]] = status.get("conditions") or ()
    generation = function.get("metadata", {}).get("generation")
    for condition in conditions:
        if condition.get("type") == "Ready":
            observed = condition.get("observedGeneration")
            if observed is not None and generation is not None and observed < generation:
                break  # about an older spec
            return (
                str(condition.get("status")),
                str(condition.get("reason") or ""),
                str(condition.get("message") or ""),
            )
    return "Unknown", "", ""


def _reason(error: ApiException) -> str:
    return f"{error.status} {error.reason}: {(error.body or '')[:500]}"
