"""Helpers to run the real agent (`python -m kappa agent`) as a subprocess on loopback."""

from __future__ import annotations

import base64
import contextlib
import http.client
import http.server
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

FUNCTION_ARN = "arn:aws:lambda:us-east-1:default:function:demo"
# The agent under test is the kappa package of this checkout, whatever copy the
# venv has installed (a git worktree shares the venv of the main checkout).
SOURCE_ROOT = Path(__file__).resolve().parents[3] / "operator"
LISTENING = re.compile(r"listening on [\d.]+:(\d+)")
# The modules an agent is run as (`python -m ...`): today's order, the agent's imports
# then the runtimes; and the pod image's launcher, the runtimes first where they can be.
AGENT_ENTRY = ("kappa", "agent")
LAUNCHER_ENTRY = ("kappa.agent.launch",)


# Milliseconds either way between the deadline an agent sets and the one a handler reads
# back as now + remaining time: each side rounds to whole milliseconds.
ROUNDING_MS = 2


def epoch_ms() -> int:
    """The wall clock in milliseconds, as deadlines between agent and runtime are written."""
    return time.time_ns() // 1_000_000


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)

    @property
    def function_error(self) -> str | None:
        return self.headers.get("x-amz-function-error")

    @property
    def log_tail(self) -> str:
        return base64.b64decode(self.headers["x-amz-log-result"]).decode()


@dataclass
class Agent:
    process: subprocess.Popen[bytes]
    termination_log: Path
    lines: list[str] = field(default_factory=list)
    port: int = 0
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _reader: threading.Thread | None = None

    def start_reading(self) -> None:
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        # stdout, or stderr when stdout goes elsewhere (a process whose log is its stderr).
        stream = self.process.stdout or self.process.stderr
        assert stream is not None
        for raw in stream:
            with self._changed:
                self.lines.append(raw.decode("utf-8", "replace"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        """The first stdout line matching `pattern`, waiting for it to be printed."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    if match := regex.search(line):
                        return match
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or (self.process.poll() is not None and not self._reading()):
                    output = "".join(self.lines)
                    raise AssertionError(f"no line matching {pattern!r} in:\n{output}")
                self._changed.wait(min(left, 0.2))

    def _reading(self) -> bool:
        return self._reader is not None and self._reader.is_alive()

    def output(self) -> str:
        with self._changed:
            return "".join(self.lines)

    def output_through(self, reply: Reply) -> str:
        """The output once the REPORT line of the call `reply` answers has been read.

        The agent prints it before it answers, but the lines reach the test through a
        reader thread: reading the output right after a reply can miss them.
        """
        request_id = reply.headers["x-kappa-request-id"]
        self.wait_for(f"^REPORT RequestId: {re.escape(request_id)}\t")
        return self.output()

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            data = response.read()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        finally:
            connection.close()

    def invoke(
        self,
        event: object = None,
        *,
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> Reply:
        body = raw if raw is not None else json.dumps(event).encode()
        return self.request("POST", "/invoke", body, headers, timeout)

    def runtime_api_port(self, slot: int = 0) -> int:
        return int(self.wait_for(rf"slot {slot} Runtime API on 127\.0\.0\.1:(\d+)").group(1))

    def exit_status(self, timeout: float = 20) -> int:
        status = self.process.wait(timeout)
        if self._reader is not None:
            self._reader.join(5)
        return status

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers; the pipe is closed either way."""
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(15)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(5)
            if self._reader is not None:
                self._reader.join(5)
        finally:
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()

    def termination_message(self) -> dict[str, str]:
        parsed = json.loads(self.termination_log.read_text())
        assert isinstance(parsed, dict)
        return parsed


StartAgent = Callable[..., Agent]
LaunchAgent = Callable[..., Agent]


def pod_environment(
    *,
    path: str,
    home: Path,
    runtime: str,
    handler: str,
    task_root: Path,
    bootstrap: Path | str | None = None,
    settings: Mapping[str, str | int | float] | None = None,
) -> dict[str, str]:
    """An agent container's environment: `settings` are its KAPPA_* variables (`slots=2`).

    KAPPA_TERMINATION_LOG is left to the `launch_agent` fixture.
    """
    env = {
        "PATH": path,
        "PYTHONPATH": str(SOURCE_ROOT),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "KAPPA_RUNTIME": runtime,
        "KAPPA_FUNCTION_ARN": FUNCTION_ARN,
        "KAPPA_AGENT_HOST": "127.0.0.1",
        "KAPPA_AGENT_PORT": "0",
        "KAPPA_RUNTIME_API_PORT": "0",
        # A loaded 2-core machine can take seconds to start node; tests that are
        # about the init timeout set their own.
        "KAPPA_INIT_TIMEOUT_SECONDS": "60",
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": handler,
        "AWS_LAMBDA_FUNCTION_NAME": "demo",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/demo",
        "AWS_LAMBDA_LOG_STREAM_NAME": "demo-pod",
        "AWS_REGION": "us-east-1",
    }
    if bootstrap is not None:
        env["KAPPA_BOOTSTRAP"] = str(bootstrap)
    env.update({f"KAPPA_{name.upper()}": str(value) for name, value in (settings or {}).items()})
    return env


ZYGOTE_RUNTIME = SOURCE_ROOT / "kappa" / "agent" / "zygote_runtime.py"
CONCURRENT_RUNTIME = SOURCE_ROOT / "kappa" / "agent" / "concurrent_runtime.py"
# As the python3.11 image's bootstrap.
PYTHON_PRELOAD = "simplejson,decimal,logging,json,traceback,importlib,enum"


def python_bootstrap(directory: Path) -> Path:
    """A runtime command as the python3.11 image's, with this interpreter and its awslambdaric.

    As the image's, ``--zygote`` starts the zygote (this checkout's) instead of a runtime,
    and AWS_LAMBDA_MAX_CONCURRENCY the concurrent runtime (this checkout's), with the task
    root first on sys.path as the image's PYTHONPATH has it.
    """
    path = directory / "bootstrap-python"
    path.write_text(
        "#!/bin/sh\n"
        "runtime=awslambdaric\n"
        'if [ -n "${AWS_LAMBDA_MAX_CONCURRENCY:-}" ]; then\n'
        f"    runtime={CONCURRENT_RUNTIME}\n"
        '    export PYTHONPATH="$LAMBDA_TASK_ROOT${PYTHONPATH:+:$PYTHONPATH}"\n'
        "fi\n"
        'if [ "${1:-}" = --zygote ]; then\n'
        f'    exec {sys.executable} {ZYGOTE_RUNTIME} {PYTHON_PRELOAD} "$runtime" "$_HANDLER"\n'
        "fi\n"
        'if [ "$runtime" = awslambdaric ]; then\n'
        f'    exec {sys.executable} -m awslambdaric "$_HANDLER"\n'
        "fi\n"
        f'exec {sys.executable} "$runtime" "$_HANDLER"\n'
    )
    path.chmod(0o755)
    return path


@contextlib.contextmanager
def serving(directory: Path) -> Iterator[str]:
    """The files of ``directory`` over HTTP on loopback (code and layer archives): the base URL."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
