"""What ``kappa deploy`` deploys: a folder's ``kappa.yaml`` merged with the command's flags.

Flags win over ``kappa.yaml``; the name defaults to the folder's, the namespace to the
kubeconfig context's (else ``default``), the handler to the runtime's usual one. Every
value is checked here, with a message that says what to write. Pure: the parsed YAML and
the flags are arguments.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from kappa.api.names import validate_dns1123_label
from kappa.cli.scaffold import DEFAULT_HANDLERS, RUNTIMES

KAPPA_YAML: Final = "kappa.yaml"
KAPPA_YAML_MAX_BYTES: Final = 64 * 1024
_TEXT_KEYS: Final = ("name", "namespace", "runtime", "handler")
_NUMBER_KEYS: Final = {"memoryMB": (128, 10240), "timeoutSeconds": (1, 900)}
MAX_LAYERS: Final = 5


class ProjectError(ValueError):
    """kappa.yaml or the flags say something ``deploy`` cannot use; the message says what."""


@dataclass(frozen=True)
class Project:
    """A function to deploy."""

    name: str
    namespace: str
    runtime: str
    handler: str
    memory_mb: int | None = None
    timeout_seconds: int | None = None
    layers: tuple[str, ...] = ()
    # spec.durable as written (executionTimeoutSeconds, retentionPeriodInDays); the
    # Function's model checks it when the manifest is made.
    durable: Mapping[str, int] | None = None

    @property
    def python_version(self) -> str | None:
        """``3.11`` for ``python3.11``; None for other runtimes."""
        return self.runtime.removeprefix("python") if self.runtime.startswith("python") else None


def read_kappa_yaml(document: Any) -> dict[str, Any]:
    """The settings of a parsed kappa.yaml (None: an empty file), unknown keys refused."""
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ProjectError(
            f"{KAPPA_YAML} must be a mapping of settings, e.g. 'runtime: python3.12'"
        )
    known = (*_TEXT_KEYS, *_NUMBER_KEYS, "layers", "durable")
    unknown = sorted(str(key) for key in document if key not in known)
    if unknown:
        msg = f"{KAPPA_YAML}: unknown setting {', '.join(unknown)} (known: {', '.join(known)})"
        raise ProjectError(msg)
    for key in _TEXT_KEYS:
        if key in document and not isinstance(document[key], str):
            raise ProjectError(f"{KAPPA_YAML}: {key} must be text")
    for key, (low, high) in _NUMBER_KEYS.items():
        value = document.get(key)
        if value is not None and (type(value) is not int or not low <= value <= high):
            raise ProjectError(f"{KAPPA_YAML}: {key} must be a whole number from {low} to {high}")
    layers = document.get("layers")
    if layers is not None and (
        not isinstance(layers, list)
        or len(layers) > MAX_LAYERS
        or not all(isinstance(layer, str) for layer in layers)
    ):
        msg = f"{KAPPA_YAML}: layers must be a list of up to {MAX_LAYERS} Layer names"
        raise ProjectError(msg)
    durable = document.get("durable")
    if durable is not None and (
        not isinstance(durable, dict)
        or not all(isinstance(k, str) and type(v) is int for k, v in durable.items())
    ):
        msg = (
            f"{KAPPA_YAML}: durable must be a mapping of whole numbers, e.g. "
            "'durable: {executionTimeoutSeconds: 3600, retentionPeriodInDays: 7}'"
        )
        raise ProjectError(msg)
    return dict(document)


def project(
    settings: Mapping[str, Any],
    flags: Mapping[str, str | None],
    *,
    folder_name: str,
    context_namespace: str | None,
    layer_flags: Sequence[str] = (),
) -> Project:
    """The function that ``settings`` (from kappa.yaml) and ``flags`` describe."""

    def pick(key: str) -> str | None:
        flag = flags.get(key)
        return flag if flag is not None else settings.get(key)

    name = pick("name") or folder_name
    try:
        validate_dns1123_label(name)
    except ValueError as error:
        msg = f"{error}: pass --name NAME or set name in {KAPPA_YAML}"
        raise ProjectError(msg) from error
    runtime = pick("runtime")
    if runtime is None:
        choices = ", ".join(RUNTIMES)
        msg = f"say which runtime: --runtime RUNTIME or runtime in {KAPPA_YAML} ({choices})"
        raise ProjectError(msg)
    if runtime not in RUNTIMES:
        raise ProjectError(f"runtime {runtime!r} is not one of {', '.join(RUNTIMES)}")
    namespace = pick("namespace") or context_namespace or "default"
    try:
        validate_dns1123_label(namespace)
    except ValueError as error:
        raise ProjectError(f"namespace {namespace!r}: {error}") from error
    handler = pick("handler") or DEFAULT_HANDLERS[runtime]
    if "." not in handler.strip("."):
        msg = f"handler {handler!r} must be FILE.FUNCTION, e.g. {DEFAULT_HANDLERS[runtime]}"
        raise ProjectError(msg)
    layers = tuple(layer_flags) or tuple(settings.get("layers") or ())
    if len(layers) > MAX_LAYERS or len(set(layers)) != len(layers):
        raise ProjectError(f"name up to {MAX_LAYERS} layers, each once: {', '.join(layers)}")
    for layer in layers:
        try:
            validate_dns1123_label(layer)
        except ValueError as error:
            raise ProjectError(f"layer {layer!r}: {error}") from error
    return Project(
        name=name,
        namespace=namespace,
        runtime=runtime,
        handler=handler,
        memory_mb=settings.get("memoryMB"),
        timeout_seconds=settings.get("timeoutSeconds"),
        layers=layers,
        durable=settings.get("durable"),
    )
