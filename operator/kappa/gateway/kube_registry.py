"""The in-cluster Registry: Functions and function pods as Kubernetes watches report them.

A thin shell around ``kube_view.KubeView`` (which holds the data and is tested
without a cluster). Two daemon threads, one per kind, run the kubernetes
client's blocking list-then-watch loop:

- Functions in every namespace, and pods labelled ``kappa.dev/component=function``
  in every namespace (and ConcurrencyQuotas in every namespace, a third thread);
- a list (paged) gives the full state and a ``resourceVersion``; a watch from it
  (with bookmarks, ended by the server every few minutes) gives the changes;
- ``410 Gone`` (the version is too old) → list again, and the view replaces what
  it held with the fresh list, notifying only what changed;
- any other failure (API server restarting, network) → wait (exponential
  back-off, 0.5 s to 30 s, with jitter) and watch again from the last version
  seen, or list again when none is known.

Threads never touch the view: every list and event goes to the event loop with
``call_soon_threadsafe``, where it is applied and listeners are called, so the
gateway reads without locks and a caller queued for a Function wakes as soon as
a pod of it turns ready. Nothing here runs per request.
"""

import asyncio
import json
import logging
import random
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from kubernetes import client, config, watch

from kappa.api import function_alias, function_version, quota
from kappa.api.function import PLURAL
from kappa.api.names import GROUP, VERSION
from kappa.invocation.kube_view import POD_SELECTOR, Applied, KubeView
from kappa.invocation.qualifier import AliasRoute
from kappa.invocation.registry import FunctionSpec, Listener, PushOutcome
from kappa.invocation.routing import Endpoint, FunctionKey

log = logging.getLogger("kappa.gateway.kube")

_PAGE: Final = 500
_WATCH_SECONDS: Final = 300  # the server ends each watch after this; we start the next
# (connect, read) seconds; bookmarks come about every minute, so a read silent for longer
# than the watch itself means a dead connection.
_WATCH_TIMEOUT: Final = (10, _WATCH_SECONDS + 30)
_LIST_TIMEOUT: Final = (10, 60)
_BACKOFF_FIRST: Final = 0.5
_BACKOFF_MAX: Final = 30.0
_GONE: Final = 410

Obj = Mapping[str, Any]


class KubeConfigError(RuntimeError):
    """Neither an in-cluster service account nor a kubeconfig is available."""


def api_client() -> client.ApiClient:
    """A client for this cluster: the pod's service account, else KUBECONFIG (as kubectl)."""
    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)
    except config.ConfigException:
        try:
            config.load_kube_config(client_configuration=configuration)
        except (config.ConfigException, OSError) as exc:
            raise KubeConfigError(
                f"no Kubernetes configuration (not in a pod, and no usable KUBECONFIG): {exc}"
            ) from None
    return client.ApiClient(configuration)


@dataclass(frozen=True, slots=True)
class _Kind:
    """One watched kind: how to list it, and how the view takes its lists and events."""

    name: str
    list_call: Callable[..., Any]
    resync: Callable[[Sequence[Obj]], Applied]
    event: Callable[[str, Obj], Applied]


class KubeRegistry:
    """A Registry fed by watches; ``run()`` keeps it fed until cancelled."""

    def __init__(  # noqa: PLR0913 - one list call per watched kind
        self,
        region: str,
        list_functions: Callable[..., Any],
        list_pods: Callable[..., Any],
        *,
        list_quotas: Callable[..., Any] | None = None,
        list_versions: Callable[..., Any] | None = None,
        list_aliases: Callable[..., Any] | None = None,
    ) -> None:
        """Watch what the list calls return (the client's, bound to their kind: see ``connect``).

        Without ``list_quotas`` no ConcurrencyQuota is watched (no namespace has a quota);
        without ``list_versions``/``list_aliases``, no version or alias exists.
        """
        self._view = KubeView(region)
        self._listeners: list[Listener] = []
        self._stop = threading.Event()
        self._watches: set[watch.Watch] = set()
        self._watches_lock = threading.Lock()
        self._synced: set[str] = set()
        self._kinds: tuple[_Kind, ...] = (
            _Kind(
                "functions",
                list_functions,
                self._view.resync_functions,
                self._view.function_event,
            ),
            _Kind("pods", list_pods, self._view.resync_pods, self._view.pod_event),
        )
        if list_quotas is not None:
            self._kinds += (
                _Kind(quota.PLURAL, list_quotas, self._view.resync_quotas, self._view.quota_event),
            )
        view = self._view
        if list_versions is not None:
            self._kinds += (
                _Kind(
                    function_version.PLURAL,
                    list_versions,
                    view.resync_versions,
                    view.version_event,
                ),
            )
        if list_aliases is not None:
            self._kinds += (
                _Kind(function_alias.PLURAL, list_aliases, view.resync_aliases, view.alias_event),
            )

    @classmethod
    def watching(cls, kube: client.ApiClient, region: str) -> "KubeRegistry":
        """A registry watching the cluster ``kube`` talks to."""
        return cls(
            region,
            partial(
                client.CustomObjectsApi(kube).list_cluster_custom_object, GROUP, VERSION, PLURAL
            ),
            partial(
                client.CoreV1Api(kube).list_pod_for_all_namespaces, label_selector=POD_SELECTOR
            ),
            **{
                parameter: partial(
                    client.CustomObjectsApi(kube).list_cluster_custom_object, GROUP, VERSION, plural
                )
                for parameter, plural in (
                    ("list_quotas", quota.PLURAL),
                    ("list_versions", function_version.PLURAL),
                    ("list_aliases", function_alias.PLURAL),
                )
            },
        )

    # ------------------------------------------------------------ Registry

    def function(self, key: FunctionKey) -> FunctionSpec | None:
        """See Registry."""
        return self._view.function(key)

    def functions(self) -> Sequence[FunctionSpec]:
        """See Registry."""
        return self._view.functions()

    def alias(self, namespace: str, function: str, alias: str) -> AliasRoute | None:
        """See Registry."""
        return self._view.alias(namespace, function, alias)

    def endpoints(self, key: FunctionKey) -> Sequence[Endpoint]:
        """See Registry."""
        return self._view.endpoints(key)

    def reserved_total(self) -> int:
        """See Registry."""
        return self._view.reserved_total()

    def cluster_slots(self) -> int:
        """See Registry."""
        return self._view.cluster_slots()

    def namespace_limit(self, namespace: str) -> int | None:
        """See Registry."""
        return self._view.namespace_limit(namespace)

    def namespace_slots(self, namespace: str) -> int:
        """See Registry."""
        return self._view.namespace_slots(namespace)

    def queued_event_limit(self, namespace: str) -> int | None:
        """See Registry."""
        return self._view.queued_event_limit(namespace)

    def queued_bytes_limit(self, namespace: str) -> int | None:
        """See Registry."""
        return self._view.queued_bytes_limit(namespace)

    def agent_ready(self, namespace: str, pod: str, uid: str, host: str) -> PushOutcome:
        """An agent's readiness push (``KubeView.agent_ready``); the waiting calls are woken."""
        outcome = self._view.agent_ready(namespace, pod, uid, host)
        if outcome is PushOutcome.ACCEPTED:
            for key in sorted(self._view.changed_by_push(namespace, pod)):
                for listener in self._listeners:
                    listener(key)
        return outcome

    def subscribe(self, listener: Listener) -> None:
        """See Registry."""
        self._listeners.append(listener)

    # ----------------------------------------------------------- lifetime

    def synced(self) -> bool:
        """Whether every kind has been listed once (the gateway is ready from then on)."""
        return len(self._synced) == len(self._kinds)

    async def run(self) -> None:
        """Watch until cancelled; then stop the watches (their threads end on their own)."""
        loop = asyncio.get_running_loop()
        self._stop.clear()
        threads = [
            threading.Thread(
                target=self._loop, args=(kind, loop), name=f"kappa-watch-{kind.name}", daemon=True
            )
            for kind in self._kinds
        ]
        for thread in threads:
            thread.start()
        try:
            await asyncio.Future()  # until cancelled
        finally:
            self._stop.set()
            with self._watches_lock:
                for running in self._watches:
                    running.stop()

    # ----------------------------------------------------- in the threads

    def _loop(self, kind: _Kind, loop: asyncio.AbstractEventLoop) -> None:
        version: str | None = None
        backoff = _BACKOFF_FIRST
        while not self._stop.is_set():
            try:
                if version is None:
                    objs, version = self._list(kind)
                    self._deliver(loop, kind, partial(kind.resync, objs), synced=True)
                    log.info("%s: listed %d at version %s", kind.name, len(objs), version)
                version = self._watch(kind, loop, version)
                backoff = _BACKOFF_FIRST
            except _LoopClosedError:
                return
            except client.ApiException as exc:
                if self._stop.is_set():
                    return
                if exc.status == _GONE:
                    log.info("%s: watch expired (410 Gone), listing again", kind.name)
                    version = None
                    continue
                log.warning(
                    "%s: %s %s, retrying in %.1fs", kind.name, exc.status, exc.reason, backoff
                )
                backoff = self._pause(backoff)
            except Exception as exc:  # noqa: BLE001 - a watch thread must outlive any client error
                if self._stop.is_set():
                    return  # run() stopped the watch by closing its connection
                log.warning("%s: watch failed (%r), retrying in %.1fs", kind.name, exc, backoff)
                backoff = self._pause(backoff)

    def _pause(self, backoff: float) -> float:
        self._stop.wait(backoff * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not secrets
        return min(backoff * 2, _BACKOFF_MAX)

    def _list(self, kind: _Kind) -> tuple[list[Obj], str]:
        objs: list[Obj] = []
        token: str | None = None
        while True:
            extra = {"_continue": token} if token else {}
            response = kind.list_call(
                **extra,
                limit=_PAGE,
                _preload_content=False,
                _request_timeout=_LIST_TIMEOUT,
            )
            page = json.loads(response.data)
            objs.extend(page.get("items") or ())
            metadata = page.get("metadata") or {}
            token = metadata.get("continue")
            if not token:
                return objs, str(metadata.get("resourceVersion") or "")

    def _watch(self, kind: _Kind, loop: asyncio.AbstractEventLoop, version: str) -> str:
        """Stream events from ``version`` until the server ends the watch; the last version."""
        # return_type "object": events keep the API's JSON (dicts), no model conversion.
        running = watch.Watch(return_type="object")
        with self._watches_lock:
            if self._stop.is_set():
                return version
            self._watches.add(running)
        try:
            for event in self._events(running, kind, version):
                obj = event["object"]
                version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                    self._deliver(loop, kind, partial(kind.event, str(event["type"]), obj))
        finally:
            with self._watches_lock:
                self._watches.discard(running)
        return version

    def _events(self, running: watch.Watch, kind: _Kind, version: str) -> Iterator[dict[str, Any]]:
        # timeout_seconds also turns off the client's own retry after a 410: we list again.
        stream: Iterator[dict[str, Any]] = running.stream(
            kind.list_call,
            resource_version=version,
            allow_watch_bookmarks=True,
            timeout_seconds=_WATCH_SECONDS,
            _request_timeout=_WATCH_TIMEOUT,
        )
        yield from stream

    def _deliver(
        self,
        loop: asyncio.AbstractEventLoop,
        kind: _Kind,
        change: Callable[[], Applied],
        *,
        synced: bool = False,
    ) -> None:
        try:
            loop.call_soon_threadsafe(self._applied, kind, change, synced)
        except RuntimeError:  # the loop is closed: the gateway is gone
            raise _LoopClosedError from None

    def _applied(self, kind: _Kind, change: Callable[[], Applied], synced: bool) -> None:  # noqa: FBT001
        applied = change()
        if synced:
            self._synced.add(kind.name)
        for problem in applied.problems:
            log.warning("%s", problem)
        for key in sorted(applied.changed):
            for listener in self._listeners:
                listener(key)


class _LoopClosedError(Exception):
    """The event loop the events go to has closed."""
