"""The program that copies a code-only image into a function pod's task root
(runtime-images/base/copy-code.c), compiled static as the base image builds it and run
on directories made here: what it copies, the modes it gives, and what it refuses
(links out of the code, other file types, too much code, other file systems)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from kappa.resources.pods import COPY_CODE_DIR, CodeMount, make_pod
from tests.integration.waiting import HANG_GUARD
from tests.unit.resources.test_pods import PARAMS

SOURCE = Path(__file__).resolve().parents[2] / "runtime-images/base/copy-code.c"


@pytest.fixture(scope="module")
def copy_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed to build runtime-images/base/copy-code.c")
    directory = tmp_path_factory.mktemp("copy-code")
    binary = directory / "copy-code"
    subprocess.run(
        ["gcc", "-Os", "-static", "-Wall", "-Wextra", "-Werror", "-o", str(binary), str(SOURCE)],
        check=True,
    )
    return binary


@dataclass
class Run:
    code: int
    stderr: str
    termination: dict[str, str] | None


def run(binary: Path, source: Path, destination: Path, *limits: int) -> Run:
    log = destination.parent / "termination-log"
    log.write_text("")
    env = {"COPY_CODE_TERMINATION_LOG": str(log)}
    done = subprocess.run(
        [str(binary), str(source), str(destination), *map(str, limits)],
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG_GUARD,
        check=False,
    )
    text = log.read_text()
    return Run(done.returncode, done.stderr, json.loads(text) if text else None)


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    source, destination = tmp_path / "image" / "var" / "task", tmp_path / "code"
    source.mkdir(parents=True)
    destination.mkdir()
    return source, destination


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_copies_the_tree_read_only_keeping_executable_bits_and_inner_links(
    copy_code: Path, dirs: tuple[Path, Path]
) -> None:
    source, destination = dirs
    (source / "app.py").write_text("def handler(e, c):\n    return e\n")
    (source / "app.py").chmod(0o664)
    (source / "bootstrap").write_text("#!/bin/sh\n")
    (source / "bootstrap").chmod(0o4775)  # set-uid and group write are never kept
    (source / "pkg" / "sub").mkdir(parents=True)
    (source / "pkg" / "sub" / "data.bin").write_bytes(bytes(range(256)) * 1000)
    (source / "pkg" / "current").symlink_to("sub")
    (source / "pkg" / "sub" / "app").symlink_to("../../app.py")
    result = run(copy_code, source, destination)
    assert result.code == 0, result.stderr
    assert result.termination is None
    assert (destination / "app.py").read_text() == "def handler(e, c):\n    return e\n"
    assert mode(destination / "app.py") == 0o444
    assert mode(destination / "bootstrap") == 0o555
    assert (destination / "pkg" / "sub" / "data.bin").read_bytes() == bytes(range(256)) * 1000
    assert mode(destination / "pkg") == 0o555
    assert mode(destination / "pkg" / "sub") == 0o555
    # Links are copied as links, not followed.
    assert (destination / "pkg" / "current").readlink() == Path("sub")
    assert (destination / "pkg" / "sub" / "app").readlink() == Path("../../app.py")
    assert (destination / "pkg" / "sub" / "app").read_text().startswith("def handler")


@pytest.mark.parametrize(
    ("where", "target"),
    [
        pytest.param("out", "/etc/passwd", id="absolute"),
        pytest.param("out", "../image", id="parent-of-the-root"),
        pytest.param("pkg/out", "../../etc", id="parent-from-below"),
        pytest.param("pkg/out", "./a/../../..", id="dots-that-climb-out"),
    ],
)
def test_refuses_a_link_that_leaves_the_code(
    copy_code: Path, dirs: tuple[Path, Path], where: str, target: str
) -> None:
    source, destination = dirs
    (source / "pkg").mkdir()
    (source / where).symlink_to(target)
    result = run(copy_code, source, destination)
    assert result.code == 1
    assert result.termination is not None
    assert result.termination["errorType"] == "Kappa.CodeUnsafe"
    assert f"{where}: the symbolic link points to {target}" in result.termination["errorMessage"]
    assert not (destination / where).is_symlink()


def test_refuses_what_is_not_a_file_a_directory_or_a_link(
    copy_code: Path, dirs: tuple[Path, Path]
) -> None:
    source, destination = dirs
    os.mkfifo(source / "pipe")
    result = run(copy_code, source, destination)
    assert result.code == 1
    assert result.termination == {
        "errorType": "Kappa.CodeUnsafe",
        "errorMessage": (
            "pipe is not a regular file, directory or symbolic link: leave it out of the code"
        ),
    }


def test_stops_at_the_byte_limit(copy_code: Path, dirs: tuple[Path, Path]) -> None:
    source, destination = dirs
    (source / "big").write_bytes(b"x" * 5000)
    result = run(copy_code, source, destination, 4999)
    assert result.code == 1
    assert result.termination is not None
    assert result.termination["errorType"] == "Kappa.CodeTooLarge"
    assert "larger than 4999 bytes" in result.termination["errorMessage"]
    (destination.parent / "fits").mkdir()
    assert run(copy_code, source, destination.parent / "fits", 5000).code == 0


def test_stops_at_the_entry_limit(copy_code: Path, dirs: tuple[Path, Path]) -> None:
    source, destination = dirs
    for index in range(4):
        (source / f"f{index}").write_text("")
    result = run(copy_code, source, destination, 1000, 3)
    assert result.code == 1
    assert result.termination is not None
    assert result.termination["errorType"] == "Kappa.CodeTooLarge"
    assert "more than 3 files" in result.termination["errorMessage"]


def test_a_missing_image_path_says_so(copy_code: Path, tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    result = run(copy_code, tmp_path / "nowhere", tmp_path / "code")
    assert result.code == 1
    assert result.termination is not None
    assert result.termination["errorType"] == "Kappa.CodeCopyFailed"
    assert "nowhere: No such file or directory" in result.termination["errorMessage"]
    assert "spec.code.imagePath" in result.termination["errorMessage"]


def test_messages_are_json_whatever_the_file_names(
    copy_code: Path, dirs: tuple[Path, Path]
) -> None:
    source, destination = dirs
    name = 'quo"te\\back\nline'
    (source / name).symlink_to("/x")
    result = run(copy_code, source, destination)
    assert result.termination is not None  # it parsed
    assert result.termination["errorMessage"].startswith(f"{name}: the symbolic link")


def test_installs_itself_by_copying_its_own_directory(copy_code: Path, tmp_path: Path) -> None:
    # What the first init container does: the runtime image's directory holds only the program.
    (tmp_path / "volume").mkdir()
    result = run(copy_code, copy_code.parent, tmp_path / "volume")
    assert result.code == 0, result.stderr
    installed = tmp_path / "volume" / "copy-code"
    assert mode(installed) == 0o555
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a").write_text("a")
    (tmp_path / "dst").mkdir()
    assert run(installed, tmp_path / "src", tmp_path / "dst").code == 0
    assert (tmp_path / "dst" / "a").read_text() == "a"


def test_leaves_out_what_another_file_system_mounts_inside(
    copy_code: Path, dirs: tuple[Path, Path]
) -> None:
    # In the pod, the kubelet mounts /etc/hosts, /dev and the volumes into the code image:
    # with imagePath / they are not the image's code. A tmpfs stands in for them.
    if shutil.which("unshare") is None:
        pytest.fail("util-linux's unshare is needed")
    source, destination = dirs
    (source / "app.py").write_text("code")
    (source / "mounted").mkdir()
    script = (
        f"mount -t tmpfs none {source / 'mounted'} && echo secret > {source / 'mounted' / 'f'} "
        f"&& {copy_code} {source} {destination}"
    )
    done = subprocess.run(
        ["unshare", "--map-root-user", "--mount", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (destination / "app.py").read_text() == "code"
    assert not (destination / "mounted").exists()


def test_the_pods_init_containers_run_as_built_fill_the_task_root(
    copy_code: Path, tmp_path: Path
) -> None:
    # The commands make_pod gives the two init containers, run here with each container's
    # paths (its image's root, its volume mounts) mapped onto directories of tmp_path.
    params = replace(PARAMS, code=CodeMount(image="reg.example/fn-code:1", image_path="/var/task"))
    install, copy = make_pod(params, name="p", revision="r")["spec"]["initContainers"]
    volumes = {"copy-code": tmp_path / "volumes/copy-code", "code": tmp_path / "volumes/code"}
    for volume in volumes.values():
        volume.mkdir(parents=True)
    runtime_root = tmp_path / "runtime-image"
    program_dir = runtime_root / COPY_CODE_DIR.lstrip("/")
    program_dir.mkdir(parents=True)
    shutil.copy2(copy_code, program_dir / "copy-code")
    code_root = tmp_path / "code-image"
    (code_root / "var/task/pkg").mkdir(parents=True)
    (code_root / "var/task/app.py").write_text("def handler(e, c):\n    return 1\n")
    (code_root / "var/task/pkg/__init__.py").write_text("")

    def in_container(container: dict[str, Any], root: Path) -> list[str]:
        mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}

        def mapped(argument: str) -> str:
            for mount, directory in mounts.items():
                if argument == mount or argument.startswith(mount + "/"):
                    return str(directory) + argument[len(mount) :]
            return str(root) + argument if argument.startswith("/") else argument

        return [mapped(argument) for argument in container["command"]]

    for container, root in ((install, runtime_root), (copy, code_root)):
        done = subprocess.run(
            in_container(container, root), capture_output=True, text=True, check=False,
            timeout=HANG_GUARD,
        )  # fmt: skip
        assert done.returncode == 0, f"{container['name']}: {done.stderr}"
    assert sorted(p.name for p in volumes["code"].rglob("*")) == ["__init__.py", "app.py", "pkg"]
    assert (volumes["code"] / "app.py").read_text().startswith("def handler")


def test_never_copies_the_destination_into_itself(copy_code: Path, tmp_path: Path) -> None:
    # imagePath / with the code volume on the image's own file system (a snapshotter
    # without overlays): the volume is inside what is copied.
    source = tmp_path / "image"
    (source / "kappa-code").mkdir(parents=True)
    (source / "app.py").write_text("code")
    result = run(copy_code, source, source / "kappa-code")
    assert result.code == 0, result.stderr
    copied = {p.name for p in (source / "kappa-code").iterdir()}
    assert "app.py" in copied
    assert "kappa-code" not in copied
