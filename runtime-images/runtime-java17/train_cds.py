#!/usr/bin/env python3
"""Write the java17 runtime's class-data-sharing archive (RUNTIME_DIR/lib/runtime.jsa).

    train_cds.py RUNTIME_DIR TASK_ROOT [--python PYTHON]

Runs the kappa agent (``PYTHON -m kappa agent``) with RUNTIME_DIR/bootstrap and the
handler kappa.Trainer of TASK_ROOT (trainer/, compiled), makes a call that succeeds
and one that fails, and stops it: the JVM was started with
-XX:ArchiveClassesAtExit, so on its way out it writes the classes it loaded (the
runtime client's, its JSON serialisation's, the JDK's it used) as a dynamic archive
over the JDK's own. The bootstrap passes it as -XX:SharedArchiveFile when it is
there: a JVM then maps those classes instead of loading and verifying them (Lambda's
java runtimes ship such an archive too). The archive is tied to the JVM build and
the classpath (the runtime's jars), so the image makes it at build time, after both
are in place. Standard library only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ARCHIVE = "runtime.jsa"


def call(port: int, event: object) -> tuple[int, str | None]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", "/invoke", json.dumps(event))
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("x-amz-function-error")
    finally:
        connection.close()


def train(runtime_dir: Path, task_root: Path, python: str) -> Path:
    archive = runtime_dir / "lib" / ARCHIVE
    archive.unlink(missing_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="train-cds-"))
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch),
        "LANG": "C.UTF-8",
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        # The bootstrap is given: the runtime's name only picks a default one.
        "KAPPA_RUNTIME": "provided",
        "KAPPA_BOOTSTRAP": str(runtime_dir / "bootstrap"),
        "KAPPA_FUNCTION_ARN": "arn:aws:lambda:us-east-1:default:function:train",
        "KAPPA_AGENT_HOST": "127.0.0.1",
        "KAPPA_AGENT_PORT": "0",
        "KAPPA_RUNTIME_API_PORT": "0",
        "KAPPA_INIT_TIMEOUT_SECONDS": "120",
        "KAPPA_TIMEOUT_SECONDS": "60",
        "KAPPA_TERMINATION_LOG": str(scratch / "termination-log"),
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": "kappa.Trainer",
        "AWS_LAMBDA_FUNCTION_NAME": "train",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": "us-east-1",
        "JAVA_TOOL_OPTIONS": f"-XX:ArchiveClassesAtExit={archive}",
    }
    agent = subprocess.Popen(
        [python, "-m", "kappa", "agent"],
        env=env,
        cwd=scratch,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert agent.stdout is not None
    lines: list[str] = []
    try:
        port = 0
        for line in agent.stdout:
            lines.append(line)
            if found := re.search(r"listening on [\d.]+:(\d+)", line):
                port = int(found.group(1))
            if "kappa-agent: ready" in line:
                break
        else:
            raise SystemExit("the agent ended before it was ready:\n" + "".join(lines))
        results = [call(port, {"train": True, "n": [1, 2.5, "x"]}), call(port, {"fail": 1})]
        if results != [(200, None), (200, "Unhandled")]:
            raise SystemExit(f"training calls answered {results}:\n" + "".join(lines))
    finally:
        agent.terminate()  # the JVM writes the archive as it exits
        lines.append(agent.communicate(timeout=120)[0])
    if not archive.is_file():
        raise SystemExit(f"no {archive} was written:\n" + "".join(lines))
    archive.chmod(0o644)
    return archive


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("runtime_dir", type=Path)
    parser.add_argument("task_root", type=Path)
    parser.add_argument("--python", default=sys.executable, help="runs the kappa agent")
    args = parser.parse_args()
    print(train(args.runtime_dir.absolute(), args.task_root.absolute(), args.python))


if __name__ == "__main__":
    main()
