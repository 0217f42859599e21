"""kopf wiring: indexes of pods and code ConfigMaps, and each Function's passes.

Thin by design. A Function passes (:func:`one_pass`, not a kopf daemon: see
``register``) whenever something about it changes (its spec or deletion, one of its
pods, a ConfigMap or Layer it names; not its status, which the pass writes itself),
whenever the autoscaler's decision for it changes (a tick or a gateway's poke wakes it),
and otherwise when the last pass asked: at the time something it left comes due (a
retry, a back-off's end, a pod the watch has not shown), or at the resync
(``KAPPA_RESYNC_SECONDS``) at rest (:mod:`kappa.controller.next_pass`). A pass that
fails is retried with a per-Function exponential backoff
(:mod:`kappa.controller.backoff`). When passes run, one at a time per
Function and a bounded number at once, is :class:`kappa.controller.passes.Passes`'s; an
idle Function holds a timer, no task. The pass itself is
:func:`kappa.controller.reconcile.reconcile`.
"""

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any

import kopf

from kappa.api import function_version
from kappa.api.names import (
    CODE_SHA256_ANNOTATION,
    COMPONENT_LABEL,
    FUNCTION_COMPONENT,
    FUNCTION_OBJECTS,
    GROUP,
    VERSION,
    labelled_unit,
)
from kappa.controller.backoff import retry_delay
from kappa.controller.desired import referenced_configmap
from kappa.controller.destinations import destination_keys
from kappa.controller.layers import layer_configmap, layer_names
from kappa.controller.memory import Key
from kappa.controller.observed import kept_function, kept_pod
from kappa.controller.reconcile import reconcile
from kappa.controller.state import State
from kappa.resources.code_configmap import CodeDigest, code_digest

log = logging.getLogger(__name__)


def register(state: State) -> None:
    """Register the handlers with kopf's default registry.

    All of them ``async``, though none waits for anything: kopf runs a plain function in
    its thread pool (the client's few threads), one hop per event of every function pod
    and ConfigMap, and the passes they wake live in the event loop.
    """

    @kopf.index("pods", labels=FUNCTION_OBJECTS, id="function_pods")  # type: ignore[arg-type]
    async def function_pods(
        namespace: str, labels: Mapping[str, str], body: kopf.Body, **_: Any
    ) -> dict[Key, dict[str, Any]]:
        return {(namespace, labelled_unit(labels)): kept_pod(body)}

    @kopf.index("configmaps", labels=FUNCTION_OBJECTS, id="code_configmaps")  # type: ignore[arg-type]
    async def code_configmaps(
        namespace: str, labels: Mapping[str, str], name: str, **_: Any
    ) -> dict[Key, str]:
        return {(namespace, labelled_unit(labels)): name}

    # Every other ConfigMap, by digest (hashes and a count, not its data): the ones a
    # Function's spec.code.configMap or a Layer names are read from here, not from the API
    # server, and a change wakes the Functions that use it at once.
    @kopf.index("configmaps", when=_not_code_configmap, id="user_configmaps")  # type: ignore[arg-type]
    async def user_configmaps(
        namespace: str, name: str, body: kopf.Body, **_: Any
    ) -> dict[Key, CodeDigest]:
        return {(namespace, name): code_digest(body)}

    @kopf.on.event("configmaps", when=_not_code_configmap, id="configmap_changed")  # type: ignore[arg-type]
    async def configmap_changed(namespace: str, name: str, **_: Any) -> None:
        for function in state.code_references.referrers((namespace, name)):
            state.wake(function)
        for layer in state.layer_configmaps.referrers((namespace, name)):
            for function in state.layer_references.referrers(layer):
                state.wake(function)

    # A Layer's new code (its spec, or kappa deploy's annotation of a new package) rolls
    # the Functions that name it: their next pass reads it into their pods' revision.
    @kopf.on.event(GROUP, VERSION, "layers", id="layer_changed")  # type: ignore[arg-type]
    async def layer_changed(
        event: kopf.RawEvent, namespace: str, name: str, body: kopf.Body, **_: Any
    ) -> None:
        key = (namespace, name)
        configmap = None if event.get("type") == "DELETED" else layer_configmap(body)
        state.layer_configmaps.name(key, [] if configmap is None else [(namespace, configmap)])
        for function in state.layer_references.referrers(key):
            state.wake(function)

    @kopf.on.event("pods", labels=FUNCTION_OBJECTS, id="pod_changed")  # type: ignore[arg-type]
    async def pod_changed(namespace: str, labels: Mapping[str, str], **_: Any) -> None:
        state.wake((namespace, labelled_unit(labels)))

    # Passes of our own rather than a kopf daemon: kopf puts a finalizer on
    # objects with daemons, and then a Function could not be deleted while the
    # operator is down. Owner references clean up after a deleted Function.
    _on_unit_change(state, "functions", "function_changed", kept_function)
    # A published version runs as a Function of its own: its snapshot is its spec, its pods
    # (labelled with its number) are its own, and it scales apart from the Function.
    _on_unit_change(
        state, function_version.PLURAL, "version_changed", function_version.as_function_body
    )


def _on_unit_change(
    state: State,
    plural: str,
    handler_id: str,
    as_function: Callable[[kopf.Body], dict[str, Any]],
) -> None:
    """Reconcile each object of ``plural`` as a Function (``as_function`` gives its body)."""

    @kopf.on.event(GROUP, VERSION, plural, id=handler_id)  # type: ignore[arg-type]
    async def unit_changed(  # noqa: PLR0913, PLR0917 - kopf passes what a handler names
        event: kopf.RawEvent,
        namespace: str,
        name: str,
        body: kopf.Body,
        function_pods: kopf.Index[Key, dict[str, Any]],
        code_configmaps: kopf.Index[Key, str],
        user_configmaps: kopf.Index[Key, CodeDigest],
        **_: Any,
    ) -> None:
        indexes = (function_pods, code_configmaps, user_configmaps)
        state.passes.start(functools.partial(one_pass, state, *indexes))
        _changed(state, event, (namespace, name), kept_function(as_function(body)))


def _changed(state: State, event: kopf.RawEvent, key: Key, body: dict[str, Any]) -> None:
    """Keep what a Function's (or version's) change says; wake its pass when it asks for one."""
    namespace, _ = key
    if event.get("type") == "DELETED":
        state.code_references.forget(key)
        state.destination_references.forget(key)
        state.layer_references.forget(key)
        state.memory.forget(key)
        state.passes.forget(key)
        state.scaler.forget(key)
        for other in state.destination_references.referrers(key):  # their destination is gone
            state.wake(other)
        return
    code = referenced_configmap(body)
    state.code_references.name(key, [] if code is None else [(namespace, code)])
    state.destination_references.name(key, destination_keys(body))
    state.layer_references.name(key, [(namespace, layer) for layer in layer_names(body)])
    record = state.memory.recall(key)
    before = record.saw(body)
    if before is None:  # Functions whose async destination it is see it at once
        for other in state.destination_references.referrers(key):
            state.wake(other)
    if before is None or _wants_a_pass(before, body):
        state.wake(key)


def _not_code_configmap(labels: Mapping[str, str], **_: Any) -> bool:
    """Any ConfigMap but the operator's own inline-code ones.

    The ConfigMaps of `kappa deploy` packages and of Layers carry another component:
    they are users' code too.
    """
    return labels.get(COMPONENT_LABEL) != FUNCTION_COMPONENT


def _wants_a_pass(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """Whether a change of a Function asks for a pass: its spec, deletion or code changed.

    The code: ``kappa deploy`` marks a new package with CODE_SHA256_ANNOTATION.

    Status changes, most of them our own patches, only refresh the stored body: waking
    on them would turn a status that changes every pass into a busy loop.
    """
    old, new = before.get("metadata") or {}, after.get("metadata") or {}
    if any(old.get(k) != new.get(k) for k in ("generation", "deletionTimestamp", "uid")):
        return True
    code = [(m.get("annotations") or {}).get(CODE_SHA256_ANNOTATION) for m in (old, new)]
    return code[0] != code[1]


def _digests(user_maps: kopf.Index[Key, CodeDigest]) -> Callable[[Key], CodeDigest | None]:
    """A lookup of the watched ConfigMaps' digests by (namespace, name)."""

    def find(key: Key) -> CodeDigest | None:
        found = list(user_maps.get(key, []))
        return found[0] if found else None

    return find


async def one_pass(
    state: State,
    pods: kopf.Index[Key, dict[str, Any]],
    maps: kopf.Index[Key, str],
    user_maps: kopf.Index[Key, CodeDigest],
    key: Key,
) -> float | None:
    """One pass of a Function; seconds until the next unprompted one (None: it is gone).

    A failed pass is tried again after a per-Function backoff.
    """
    body = state.memory.body(key)
    if body is None:
        return None
    record = state.memory.recall(key)
    try:
        result = await reconcile(
            state,
            body,
            list(pods.get(key, [])),
            list(maps.get(key, [])),
            configmaps=_digests(user_maps),
        )
    except Exception:  # a failed pass is tried again
        record.failures += 1
        delay = retry_delay(record.failures)
        log.exception(
            "reconciling Function %s/%s failed (%d in a row); next try in %.1f s",
            *key,
            record.failures,
            delay,
        )
        return delay
    record.failures = 0
    return result.requeue_after
