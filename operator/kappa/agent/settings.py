"""The agent's settings, parsed once from the pod's environment.

This is the agent's only reader of environment variables. It is a frozen
dataclass rather than a pydantic model because the agent starts on every cold
start and pydantic's import alone costs more than the agent's whole start-up.
``AgentSettings.from_env`` is pure: tests hand it a mapping. The variables and
their defaults are the table in docs/internals/function-pods.md; numbers are
read with :class:`kappa.base.env.EnvReader` and every problem is reported in one
:class:`kappa.base.env.SettingsError`. The termination-log path is read on its
own (:func:`termination_log_path`) so that even that error reaches the operator.
"""

import base64
import binascii
import json
import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Final

from kappa.agent.report import SYSTEM_LOG_LEVELS
from kappa.base import ready_push
from kappa.base.code_paths import MAX_LAYERS, OPT_ROOT
from kappa.base.env import EnvReader
from kappa.base.ready_push import ReadyPush
from kappa.tracing.endpoint import Endpoint, parse_endpoint


class Runtime(StrEnum):
    """The runtimes a Function may name (``spec.runtime``)."""

    PYTHON311 = "python3.11"
    PYTHON312 = "python3.12"
    PYTHON313 = "python3.13"
    NODEJS20 = "nodejs20"
    NODEJS22 = "nodejs22"
    JAVA17 = "java17"
    PROVIDED = "provided"
    IMAGE = "image"


# The runtime command of the managed runtimes, installed by their images.
RUNTIME_BOOTSTRAP: Final = "/var/runtime/bootstrap"
_MAX_LAYERS_TEXT: Final = 16 * 1024
# Lambda's largest values, so that a typo cannot make an agent wait for a day.
MAX_TIMEOUT_SECONDS: Final = 900.0
MAX_SLOTS: Final = 1000
# Lambda's largest PerExecutionEnvironmentMaxConcurrency: calls one runtime process takes.
MAX_PER_RUNTIME: Final = 1600
# Lambda Managed Instances' variable, which the runtime clients read too.
MAX_CONCURRENCY: Final = "AWS_LAMBDA_MAX_CONCURRENCY"
# The agent port's guards against clients that hold connections open. The idle
# timeout outlasts the gateway's pooled connections (30 s), so that the agent is
# never the side closing a connection the gateway is about to reuse.
DEFAULT_HEADER_TIMEOUT_SECONDS: Final = 10.0
DEFAULT_IDLE_TIMEOUT_SECONDS: Final = 75.0
DEFAULT_MAX_CONNECTIONS: Final = 1024
_MAX_CONNECTIONS_LIMIT: Final = 65536
_DEFAULT_TERMINATION_LOG: Final = "/dev/termination-log"
# Variables meant for the agent alone; runtimes never see them.
_AGENT_PREFIX: Final = "KAPPA_"
TRACING_ENDPOINT: Final = "KAPPA_TRACING_OTLP_ENDPOINT"
# What OpenTelemetry's SDKs read for their collector: a runtime gets the agent's, unless
# the Function's env names its own.
_OTEL_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_ENDPOINT"
_MAX_PORT: Final = 65535
FROM_POOL: Final = "KAPPA_FROM_POOL"
POD_TOKEN_FILE: Final = "KAPPA_POD_TOKEN_FILE"  # noqa: S105 - a variable's name


@dataclass(frozen=True, slots=True)
class ReadyPushTarget:
    """The gateways to tell the runtimes are ready, and the pod that tells them."""

    addresses: tuple[str, ...]
    push: ReadyPush


def ready_push_target(env: Mapping[str, str]) -> ReadyPushTarget | None:
    """The push the operator set up (``KAPPA_AGENT_READY_PUSH`` and the pod's identity).

    Anything missing or malformed: no push (the gateways learn of the pod from the kubelet,
    as before), never a failed start.
    """
    addresses = ready_push.addresses(env.get(ready_push.READY_PUSH_VARIABLE, ""))
    identity = (
        env.get(ready_push.POD_NAMESPACE_VARIABLE, ""),
        env.get(ready_push.POD_NAME_VARIABLE, ""),
        env.get(ready_push.POD_UID_VARIABLE, ""),
    )
    if not addresses:
        return None
    try:
        push = ready_push.decode(ready_push.encode(ReadyPush(*identity)))
    except ValueError:
        return None
    return ReadyPushTarget(addresses, push)


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """Validated settings of one agent.

    ``bootstrap`` is the argv of the runtime command, or None when the runtime
    runs outside the agent (``runtime: image``: the user's container calls the
    Runtime API itself). ``runtime_env`` is the environment every runtime
    process starts with, before the agent adds ``AWS_LAMBDA_RUNTIME_API``.
    """

    runtime: Runtime
    function_arn: str
    bootstrap: tuple[str, ...] | None
    runtime_env: Mapping[str, str] = field(default_factory=dict)
    handler: str = ""
    slots: int = 1
    # Calls one runtime process takes at once (AWS_LAMBDA_MAX_CONCURRENCY; 1 when unset).
    per_runtime: int = 1
    timeout_seconds: float = 3.0
    init_timeout_seconds: float = 10.0
    agent_host: str = "0.0.0.0"  # noqa: S104 - the gateway reaches the pod on its IP
    agent_port: int = 8080
    runtime_api_port: int = 9001
    task_root: Path = Path("/var/task")
    code_url: str | None = None
    code_sha256: bytes | None = None
    layers: tuple[tuple[str, bytes], ...] = ()
    opt_root: Path = Path(OPT_ROOT)
    termination_log: Path = Path(_DEFAULT_TERMINATION_LOG)
    memory_size_mb: int = 128
    function_version: str = "$LATEST"
    header_timeout_seconds: float = DEFAULT_HEADER_TIMEOUT_SECONDS
    idle_timeout_seconds: float = DEFAULT_IDLE_TIMEOUT_SECONDS
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    # spec.loggingConfig: JSON platform lines (AWS_LAMBDA_LOG_FORMAT, which the runtime
    # reads too) and the least severe of them written (KAPPA_SYSTEM_LOG_LEVEL).
    log_json: bool = False
    system_log_level: str = "INFO"
    # A warm pool's pod specialised for this Function (kappa.agent.pool_mode sets it).
    from_pool: bool = False
    # Where the agent's spans go (docs/tracing.md); None: nowhere, trace ids are still passed on.
    tracing_endpoint: Endpoint | None = None
    tracing_sample_ratio: float = 1.0
    # The zygote command (kappa.agent.zygote), or None: every runtime process is exec'd.
    zygote: tuple[str, ...] | None = None
    # A durable Function's projected ServiceAccount token (KAPPA_POD_TOKEN_FILE): the
    # runtimes get a pod credential made from it (kappa.agent.credentials); None: none.
    pod_token_file: Path | None = None
    # Whom to tell, and as which pod, that the runtimes are ready (kappa.base.ready_push);
    # None: nobody (the gateways learn it from the kubelet).
    ready_push: ReadyPushTarget | None = None

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], *, agent_bin_dir: str | None = None
    ) -> "AgentSettings":
        """Build settings from ``env``; unset variables take their defaults.

        ``agent_bin_dir`` is the agent's own venv ``bin`` directory, taken off
        the runtimes' PATH so that a runtime's ``python3`` is the system one,
        not the agent's. Raises :class:`kappa.base.env.SettingsError` naming
        every bad variable.
        """
        return _Parser(env).parse(agent_bin_dir)

    def runtime_api_ports(self) -> list[int]:
        """The Runtime API port of each slot: one listener per slot tells the slots apart.

        Port 0 asks the system for a free port per slot (tests).
        """
        if self.runtime_api_port == 0:
            return [0] * self.slots
        return [self.runtime_api_port + index for index in range(self.slots)]


class _Parser:
    """Reads one variable at a time, collecting every problem before failing."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.read = EnvReader(env)

    def parse(self, agent_bin_dir: str | None) -> AgentSettings:
        env = self.env
        read = self.read
        runtime = self._runtime()
        task_root = Path(env.get("LAMBDA_TASK_ROOT") or "/var/task")
        slots = read.integer("KAPPA_SLOTS", 1, lo=1, hi=MAX_SLOTS)
        per_runtime = read.integer(MAX_CONCURRENCY, 1, lo=1, hi=MAX_PER_RUNTIME)
        api_port = read.integer("KAPPA_RUNTIME_API_PORT", 9001, lo=0, hi=_MAX_PORT)
        if api_port and api_port + slots - 1 > _MAX_PORT:
            self._problem("KAPPA_RUNTIME_API_PORT", f"{api_port} + {slots} slots passes 65535")
        code_url = env.get("KAPPA_CODE_URL") or None
        code_sha256 = self._sha256(required=code_url is not None)
        layers = self._layers()
        opt_root = Path(env.get("KAPPA_OPT_ROOT") or OPT_ROOT)
        bootstrap = self._bootstrap(runtime, task_root)
        arn = env.get("KAPPA_FUNCTION_ARN", "")
        if not arn.startswith("arn:"):
            self._problem("KAPPA_FUNCTION_ARN", "is required and must be a function ARN")
        settings = AgentSettings(
            runtime=runtime or Runtime.PROVIDED,
            function_arn=arn,
            bootstrap=bootstrap,
            runtime_env=runtime_env(env, agent_bin_dir=agent_bin_dir, task_root=task_root),
            handler=env.get("_HANDLER", ""),
            slots=slots,
            per_runtime=per_runtime,
            timeout_seconds=self._seconds("KAPPA_TIMEOUT_SECONDS", 3.0),
            init_timeout_seconds=self._seconds("KAPPA_INIT_TIMEOUT_SECONDS", 10.0),
            agent_host=env.get("KAPPA_AGENT_HOST") or "0.0.0.0",  # noqa: S104 - see AgentSettings
            agent_port=read.integer("KAPPA_AGENT_PORT", 8080, lo=0, hi=_MAX_PORT),
            runtime_api_port=api_port,
            task_root=task_root,
            code_url=code_url,
            code_sha256=code_sha256,
            layers=layers,
            opt_root=opt_root,
            termination_log=termination_log_path(env),
            memory_size_mb=read.integer("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 128, lo=1, hi=1 << 20),
            function_version=env.get("AWS_LAMBDA_FUNCTION_VERSION") or "$LATEST",
            header_timeout_seconds=self._seconds(
                "KAPPA_HEADER_TIMEOUT_SECONDS", DEFAULT_HEADER_TIMEOUT_SECONDS
            ),
            idle_timeout_seconds=self._seconds(
                "KAPPA_IDLE_TIMEOUT_SECONDS", DEFAULT_IDLE_TIMEOUT_SECONDS
            ),
            max_connections=read.integer(
                "KAPPA_MAX_CONNECTIONS",
                # Room for every call the pod takes at once, besides probes and scrapes.
                max(DEFAULT_MAX_CONNECTIONS, slots * per_runtime + DEFAULT_MAX_CONNECTIONS // 8),
                lo=1,
                hi=_MAX_CONNECTIONS_LIMIT,
            ),
            log_json=read.choice("AWS_LAMBDA_LOG_FORMAT", "Text", ("Text", "JSON")) == "JSON",
            system_log_level=read.choice("KAPPA_SYSTEM_LOG_LEVEL", "INFO", SYSTEM_LOG_LEVELS),
            from_pool=env.get(FROM_POOL) == "true",
            tracing_endpoint=self._tracing_endpoint(),
            tracing_sample_ratio=read.number("KAPPA_TRACING_SAMPLE_RATIO", 1.0, lo=0, hi=1),
            zygote=zygote_command(
                read.choice("KAPPA_ZYGOTE", "auto", ZYGOTE_CHOICES),
                runtime=runtime,
                bootstrap=bootstrap,
                default_bootstrap="KAPPA_BOOTSTRAP" not in env,
                slots=slots,
            ),
            pod_token_file=Path(token) if (token := env.get(POD_TOKEN_FILE, "").strip()) else None,
            ready_push=ready_push_target(env),
        )
        read.done()
        return settings

    def _problem(self, var: str, message: str) -> None:
        shown = f"={self.env[var]!r}" if var in self.env else ""
        self.read.problem(f"{var}{shown}: {message}")

    def _tracing_endpoint(self) -> Endpoint | None:
        raw = self.read.optional(TRACING_ENDPOINT)
        if raw is None:
            return None
        try:
            return parse_endpoint(raw)
        except ValueError as exc:
            self.read.problem(f"{TRACING_ENDPOINT}={raw[:100]!r} {exc}")
            return None

    def _runtime(self) -> Runtime | None:
        value = self.env.get("KAPPA_RUNTIME", "")
        try:
            return Runtime(value)
        except ValueError:
            choices = ", ".join(runtime.value for runtime in Runtime)
            self._problem("KAPPA_RUNTIME", f"is required, one of {choices}")
            return None

    def _seconds(self, var: str, default: float) -> float:
        """A duration: more than 0, at most Lambda's longest timeout."""
        value = self.read.number(var, default, lo=0, hi=MAX_TIMEOUT_SECONDS)
        if value > 0:
            return value
        self._problem(var, "must be more than 0")
        return default

    def _layers(self) -> tuple[tuple[str, bytes], ...]:
        """``KAPPA_LAYERS``: a JSON list of up to MAX_LAYERS ``{"url", "sha256"}``, in order."""
        raw = self.env.get("KAPPA_LAYERS", "").strip()
        if not raw:
            return ()
        problem = "must be a JSON list of up to 5 {url, sha256} objects"
        try:
            entries = json.loads(raw) if len(raw) <= _MAX_LAYERS_TEXT else None
        except ValueError:
            entries = None
        if not isinstance(entries, list) or len(entries) > MAX_LAYERS:
            self._problem("KAPPA_LAYERS", problem)
            return ()
        layers: list[tuple[str, bytes]] = []
        for entry in entries:
            url = entry.get("url") if isinstance(entry, dict) else None
            digest = parse_sha256(str(entry.get("sha256", ""))) if isinstance(entry, dict) else None
            if not isinstance(url, str) or not url or digest is None:
                self._problem("KAPPA_LAYERS", problem)
                return ()
            layers.append((url, digest))
        return tuple(layers)

    def _sha256(self, *, required: bool) -> bytes | None:
        raw = self.env.get("KAPPA_CODE_SHA256", "").strip()
        if not raw:
            if required:
                self._problem("KAPPA_CODE_SHA256", "is required with KAPPA_CODE_URL")
            return None
        digest = parse_sha256(raw)
        if digest is None:
            self._problem("KAPPA_CODE_SHA256", "is neither 64 hex digits nor base64 of 32 bytes")
        return digest

    def _bootstrap(self, runtime: Runtime | None, task_root: Path) -> tuple[str, ...] | None:
        raw = self.env.get("KAPPA_BOOTSTRAP")
        if raw is not None and raw.strip():
            try:
                return tuple(shlex.split(raw))
            except ValueError as exc:
                self._problem("KAPPA_BOOTSTRAP", f"cannot be split into words: {exc}")
                return None
        if runtime is Runtime.IMAGE:
            return None
        if runtime is Runtime.PROVIDED:
            return (str(task_root / "bootstrap"),)
        return (RUNTIME_BOOTSTRAP,)


ZYGOTE_CHOICES: Final = ("auto", "on", "off")
ZYGOTE_FLAG: Final = "--zygote"
_ZYGOTE_RUNTIMES: Final = frozenset({Runtime.PYTHON311, Runtime.PYTHON312, Runtime.PYTHON313})


def zygote_command(  # noqa: PLR0913 - keyword-only facts about the pod
    choice: str,
    *,
    runtime: Runtime | None,
    bootstrap: tuple[str, ...] | None,
    default_bootstrap: bool,
    slots: int,
    ahead: bool = False,
) -> tuple[str, ...] | None:
    """``KAPPA_ZYGOTE``: the command that starts a zygote (``bootstrap --zygote``), or None.

    ``on``: whatever the bootstrap (it must know ``--zygote``; one that does not
    is noticed and runtimes start from scratch). ``auto``: python runtimes with
    the image's own bootstrap and more than one slot (with one slot a zygote is
    one more process for no faster start), or started ``ahead`` of any call (a warm
    pool's pod, where its start is paid before the Function is known). ``off``: never.
    """
    if bootstrap is None or choice == "off":
        return None
    worth_it = slots > 1 or ahead
    if choice == "auto" and not (default_bootstrap and runtime in _ZYGOTE_RUNTIMES and worth_it):
        return None
    return (*bootstrap, ZYGOTE_FLAG)


def ahead_zygote(
    env: Mapping[str, str], *, agent_bin_dir: str | None
) -> tuple[tuple[str, ...], dict[str, str], Path] | None:
    """A warm pool's pod: the zygote to start before any Function claims it, or None.

    Its command, environment and working directory, from the pod's variables (the
    runtime, ``KAPPA_BOOTSTRAP``, ``KAPPA_ZYGOTE``) as a Function's pod would have them.
    """
    parser = _Parser(env)
    runtime = parser._runtime()  # noqa: SLF001 - this module's own parser
    task_root = Path(env.get("LAMBDA_TASK_ROOT") or "/var/task")
    choice = env.get("KAPPA_ZYGOTE", "auto")
    if choice not in ZYGOTE_CHOICES:
        return None
    command = zygote_command(
        choice,
        runtime=runtime,
        bootstrap=parser._bootstrap(runtime, task_root),  # noqa: SLF001 - as above
        default_bootstrap="KAPPA_BOOTSTRAP" not in env,
        slots=1,
        ahead=True,
    )
    if command is None:
        return None
    return command, runtime_env(env, agent_bin_dir=agent_bin_dir, task_root=task_root), task_root


PRESTART_CHOICES: Final = ("auto", "on", "off")
_PRESTART_RUNTIMES: Final = frozenset({Runtime.NODEJS20, Runtime.NODEJS22})


def ahead_runtime(
    env: Mapping[str, str], *, agent_bin_dir: str | None
) -> tuple[tuple[str, ...], dict[str, str], Path] | None:
    """A warm pool's node pod: the runtime to start ahead (kappa.agent.prestart), or None.

    ``KAPPA_PRESTART``: ``auto`` (the default) for the node runtimes with the image's own
    bootstrap, ``on`` for any bootstrap (it must know ``KAPPA_PRESTART_FD``), ``off``
    never. Its command, environment and working directory, as a Function's pod would
    have them.
    """
    parser = _Parser(env)
    runtime = parser._runtime()  # noqa: SLF001 - this module's own parser
    task_root = Path(env.get("LAMBDA_TASK_ROOT") or "/var/task")
    choice = env.get("KAPPA_PRESTART", "auto")
    bootstrap = parser._bootstrap(runtime, task_root)  # noqa: SLF001 - as above
    if bootstrap is None or choice not in ("auto", "on"):
        return None
    if choice == "auto" and ("KAPPA_BOOTSTRAP" in env or runtime not in _PRESTART_RUNTIMES):
        return None
    return bootstrap, runtime_env(env, agent_bin_dir=agent_bin_dir, task_root=task_root), task_root


def parse_sha256(text: str) -> bytes | None:
    """The digest in ``text``: hex (as ``sha256sum`` prints) or base64 (Lambda's CodeSha256)."""
    if len(text) == 64:  # noqa: PLR2004 - hex digits of a sha256
        try:
            return bytes.fromhex(text)
        except ValueError:
            return None
    try:
        digest = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest if len(digest) == 32 else None  # noqa: PLR2004 - bytes of a sha256


def runtime_env(
    env: Mapping[str, str], *, agent_bin_dir: str | None, task_root: Path
) -> dict[str, str]:
    """The environment runtimes start with: the pod's, less the agent's own parts.

    The operator puts Lambda's reserved variables and the user's ``env`` in the
    container's environment; they pass through. ``KAPPA_*`` variables are the
    agent's; the agent's venv is taken off PATH. With tracing on, a handler's
    OpenTelemetry SDK is pointed at the same collector (``OTEL_EXPORTER_OTLP_ENDPOINT``)
    unless the Function sets its own.
    """
    result = {name: value for name, value in env.items() if not name.startswith(_AGENT_PREFIX)}
    if (endpoint := env.get(TRACING_ENDPOINT, "").strip()) and not env.get(_OTEL_ENDPOINT):
        result[_OTEL_ENDPOINT] = endpoint
    if agent_bin_dir and "PATH" in result:
        kept = [part for part in result["PATH"].split(os.pathsep) if part != agent_bin_dir]
        result["PATH"] = os.pathsep.join(kept)
    result.pop("VIRTUAL_ENV", None)
    result["LAMBDA_TASK_ROOT"] = str(task_root)
    return result


def termination_log_path(env: Mapping[str, str]) -> Path:
    """Where the kubelet reads this container's termination message."""
    return Path(env.get("KAPPA_TERMINATION_LOG") or _DEFAULT_TERMINATION_LOG)


def load_termination_log() -> Path:
    """This process's termination-log path, readable even when other settings are bad."""
    return termination_log_path(os.environ)


def process_env() -> Mapping[str, str]:
    """This process's environment (the pool pod's agent reads it whole, once)."""
    return os.environ


def load() -> AgentSettings:
    """Load this process's settings from its environment."""
    in_venv = sys.prefix != sys.base_prefix
    agent_bin_dir = str(Path(sys.prefix) / "bin") if in_venv else None
    return AgentSettings.from_env(os.environ, agent_bin_dir=agent_bin_dir)
