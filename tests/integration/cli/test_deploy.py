"""`kappa init` and `kappa deploy --dry-run` as an author runs them: real pip and npm
fetching real packages, the zip unpacked by the agent's own code and run."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from kappa.agent import code_archive
from kappa.agent.code_archive import unpack
from kappa.api.function import Function

SOURCE_ROOT = Path(__file__).resolve().parents[3] / "operator"
HANDLER = """\
import requests


def handler(event, context):
    return {"requests": requests.__version__, "name": event.get("name")}
"""


def kappa(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kappa", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(SOURCE_ROOT), **(env or {})},
    )


def dry_run(folder: Path, *flags: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    done = kappa("deploy", str(folder), "--dry-run", *flags, cwd=folder.parent)
    assert done.returncode == 0, done.stderr
    configmap, function = yaml.safe_load_all(done.stdout)
    return configmap, function, base64.b64decode(configmap["binaryData"]["code.zip"])


def test_init_add_requests_deploy_and_the_package_runs(tmp_path: Path) -> None:
    made = kappa("init", "hello", "--runtime", "python3.11", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "hello"
    assert sorted(p.name for p in folder.iterdir()) == ["app.py", "kappa.yaml", "requirements.txt"]
    with (folder / "requirements.txt").open("a") as requirements:
        requirements.write("requests==2.32.3\n")
    (folder / "app.py").write_text(HANDLER)

    configmap, function, archive = dry_run(folder, "--namespace", "team-a")
    assert Function.model_validate(function).spec.code.config_map is not None
    assert (function["metadata"]["name"], function["metadata"]["namespace"]) == ("hello", "team-a")
    assert function["spec"]["code"]["configMap"] == {"name": "hello-package", "archive": "code.zip"}
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert "app.py" in names
    assert "requests/api.py" in names
    assert "kappa.yaml" not in names
    # manylinux wheels for CPython 3.11 on x86_64: charset_normalizer's compiled modules.
    assert any(
        n.startswith("charset_normalizer/") and n.endswith("x86_64-linux-gnu.so") for n in names
    )

    # The agent's own unpacking, then the handler imported from the task root alone.
    root = tmp_path / "task"
    assert unpack_into(archive, root) > 10
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import app, json; "
        "print(json.dumps(app.handler({'name': 'x'}, None)))"
    )
    ran = subprocess.run(
        [sys.executable, "-I", "-c", probe, str(root)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == {"requests": "2.32.3", "name": "x"}

    # Same folder, same bytes: a deploy without changes is no new revision.
    again, _, archive_again = dry_run(folder, "--namespace", "team-a")
    assert archive_again == archive
    assert again["metadata"]["annotations"] == configmap["metadata"]["annotations"]


def unpack_into(archive: bytes, root: Path) -> int:
    zipped = root.parent / "code.zip"
    zipped.write_bytes(archive)
    root.mkdir()
    return unpack(zipped, root)


def test_node_dependencies_without_the_dev_ones(tmp_path: Path) -> None:
    made = kappa("init", "greeter", "--runtime", "nodejs20", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "greeter"
    package = json.loads((folder / "package.json").read_text())
    package["dependencies"] = {"ms": "2.1.3"}
    package["devDependencies"] = {"left-pad": "1.3.0"}
    (folder / "package.json").write_text(json.dumps(package))
    (folder / "index.js").write_text(
        "const ms = require('ms');\nexports.handler = async () => ({ day: ms('1d') });\n"
    )
    _, function, archive = dry_run(folder, "-o", "yaml")
    assert function["spec"]["handler"] == "index.handler"
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert "node_modules/ms/index.js" in names
    assert not any(n.startswith("node_modules/left-pad/") for n in names)
    root = tmp_path / "task"
    unpack_into(archive, root)
    ran = subprocess.run(
        ["node", "-e", "require('./index.js').handler().then(r => console.log(JSON.stringify(r)))"],
        cwd=root, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == {"day": 86400000}


def test_a_requirement_without_a_linux_wheel_says_so(tmp_path: Path) -> None:
    kappa("init", "broken", "--runtime", "python3.12", cwd=tmp_path)
    folder = tmp_path / "broken"
    (folder / "requirements.txt").write_text("no-such-package-kappa-test==0.0.1\n")
    done = kappa("deploy", str(folder), "--dry-run", cwd=tmp_path)
    assert done.returncode == 1
    assert "kappa deploy: pip failed" in done.stderr


def test_init_never_overwrites(tmp_path: Path) -> None:
    assert kappa("init", "f", "--runtime", "python3.11", cwd=tmp_path).returncode == 0
    again = kappa("init", "f", "--runtime", "python3.11", cwd=tmp_path)
    assert again.returncode == 2
    assert "exists: init a new folder" in again.stderr


@pytest.mark.parametrize(
    ("kubeconfig", "says"),
    [
        pytest.param(None, "no cluster to talk to", id="no-kubeconfig"),
        pytest.param(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            },
            "does not answer",
            id="cluster-down",
        ),
    ],
)
def test_without_a_cluster_the_commands_say_what_to_run(
    tmp_path: Path, kubeconfig: dict[str, Any] | None, says: str
) -> None:
    config = tmp_path / "kubeconfig"
    if kubeconfig is not None:
        config.write_text(yaml.safe_dump(kubeconfig))
    kappa("init", "f", "--runtime", "python3.11", cwd=tmp_path)
    env = {"KUBECONFIG": str(config), "KAPPA_GATEWAY_URL": ""}
    for args in (["deploy", "f", "--wait", "0"], ["invoke", "f"], ["logs", "f"], ["url", "f"]):
        done = kappa(*args, cwd=tmp_path, env=env)
        assert done.returncode == 1, (args, done.stderr)
        assert says in done.stderr, (args, done.stderr)


def test_a_layer_vendors_into_python_and_a_function_imports_from_it(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "python").mkdir(parents=True)
    (shared / "python/greeting.py").write_text("def greet(name):\n    return 'hi ' + name\n")
    (shared / "requirements.txt").write_text("six==1.17.0\n")
    done = kappa(
        "layer", "publish", str(shared), "--name", "shared", "--runtime", "python3.11",
        "--namespace", "team-a", "--dry-run", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    configmap, layer = yaml.safe_load_all(done.stdout)
    assert layer["kind"] == "Layer"
    assert layer["spec"]["code"]["configMap"] == {"name": "shared-layer", "archive": "code.zip"}
    archive = base64.b64decode(configmap["binaryData"]["code.zip"])
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert "python/greeting.py" in names
    assert "python/six.py" in names  # vendored where Lambda's Python looks under /opt

    # Two layers unpacked in order by the agent's own code, as a pod's /opt.
    (tmp_path / "layer.zip").write_bytes(archive)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zipped:
        zipped.writestr("python/greeting.py", "def greet(name):\n    return 'hello ' + name\n")
    opt = tmp_path / "opt"
    urls = {(tmp_path / "layer.zip").as_uri(), other.as_uri()}
    original = code_archive.FILE_URLS
    code_archive.FILE_URLS = frozenset(urls)  # the pod's mount paths stand here
    try:
        code_archive.install_layers(
            [
                ((tmp_path / "layer.zip").as_uri(), hashlib.sha256(archive).digest()),
                (other.as_uri(), hashlib.sha256(other.read_bytes()).digest()),
            ],
            opt,
        )
    finally:
        code_archive.FILE_URLS = original
    probe = "import sys; sys.path.insert(0, sys.argv[1]); import greeting, six; print(greeting.greet('x'))"
    ran = subprocess.run(
        [sys.executable, "-I", "-c", probe, str(opt / "python")],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "hello x"  # the later layer's file won


def test_deploy_names_its_layers(tmp_path: Path) -> None:
    kappa("init", "user", "--runtime", "python3.11", cwd=tmp_path)
    with (tmp_path / "user/kappa.yaml").open("a") as settings:
        settings.write("layers: [shared]\n")
    _, function, _ = dry_run(tmp_path / "user", "--layer", "shared", "--layer", "deps")
    assert function["spec"]["layers"] == [{"name": "shared"}, {"name": "deps"}]
    _, from_yaml, _ = dry_run(tmp_path / "user")
    assert from_yaml["spec"]["layers"] == [{"name": "shared"}]


def test_a_package_over_a_configmap_is_for_the_code_store_and_past_50_mb_refused(
    tmp_path: Path,
) -> None:
    assert kappa("init", "big", "--runtime", "python3.11", cwd=tmp_path).returncode == 0
    folder = tmp_path / "big"
    (folder / "data.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    done = kappa("deploy", str(folder), "--dry-run", "--namespace", "team-a", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "code store" in done.stderr
    [function] = [d for d in yaml.safe_load_all(done.stdout) if d]
    assert function["kind"] == "Function"
    assert "code" not in function["spec"]  # the gateway sets it once the store has the zip
    assert function["spec"]["handler"] == "app.handler"
    (folder / "data.bin").write_bytes(os.urandom(51 * 1024 * 1024))
    refused = kappa("deploy", str(folder), "--dry-run", "--namespace", "team-a", cwd=tmp_path)
    assert refused.returncode == 1
    assert "52,428,800" in refused.stderr
