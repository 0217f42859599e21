"""The java17 runtime of the runtime-java17 image, for the real agent to run.

The runtime is what the image installs (runtime-images/runtime-java17): the same jars
from Maven Central, checked against the same hashes, laid out by the same
install_runtime.py in a cache directory as `<dir>/runtime-<hash>/bootstrap`, next to
`<dir>/lang`, a link to Debian's OpenJDK 17 (the image's /var/lang), so the bootstrap
finds java as it does in the image. The handlers of handlers/ are compiled with javac
(`--release 17`) against the runtime's aws-lambda-java-core, as a function's build
would, into a task root laid out as Lambda's zip: classes at the root, jars in lib/.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tests.integration.nodejs.harness import locked, sources_key

REPO = Path(__file__).resolve().parents[3]
RUNTIME_DIR = REPO / "runtime-images/runtime-java17"
HANDLERS = Path(__file__).parent / "handlers"
# Debian's package names the JVM directory after dpkg's architecture.
_DPKG_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


@dataclass(frozen=True)
class JavaRuntime:
    bootstrap: Path
    lib: Path  # the runtime's jars


def debian_java_home() -> Path:
    """Where Debian's openjdk-17-jre-headless is, as in the image."""
    arch = _DPKG_ARCH.get(platform.machine(), platform.machine())
    return Path(f"/usr/lib/jvm/java-17-openjdk-{arch}")


def build_java_runtime(cache: Path) -> JavaRuntime:
    """The runtime, installed into `cache` once and reused; RuntimeError without Java 17."""
    java_home = debian_java_home()
    if not (java_home / "bin/java").is_file():
        raise RuntimeError(
            f"no {java_home}/bin/java: apt-get install openjdk-17-jre-headless "
            "(e2e/local/deps.sh --test)"
        )
    cache.mkdir(parents=True, exist_ok=True)
    with locked(cache / ".lock"):
        lang = cache / "lang"
        if not lang.is_symlink() or lang.readlink() != java_home:
            lang.unlink(missing_ok=True)
            lang.symlink_to(java_home)
        runtime_dir = cache / f"runtime-{sources_key(RUNTIME_DIR)}"
        if not (runtime_dir / "bootstrap").is_file():
            subprocess.run(
                [
                    sys.executable,
                    str(RUNTIME_DIR / "install_runtime.py"),
                    str(runtime_dir),
                    "--cache",
                    str(cache / "jars"),
                ],
                check=True,
                timeout=600,
            )
            for old in cache.glob("runtime-*"):
                if old != runtime_dir:
                    shutil.rmtree(old, ignore_errors=True)
    return JavaRuntime(runtime_dir / "bootstrap", runtime_dir / "lib")


def javac() -> str:
    """The Java compiler; RuntimeError when there is none."""
    found = shutil.which("javac")
    if found is None:
        raise RuntimeError("no javac: apt-get install openjdk-17-jdk-headless")
    return found


def jar(directory: Path, out: Path) -> Path:
    """A jar (a zip) of `directory`'s files, as `jar cf` makes one."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return out


def compile_handlers(runtime: JavaRuntime, work: Path) -> Path:
    """The task root: handlers/src compiled at its root, handlers/lib-src as lib/greeting.jar."""
    compiler = javac()
    core = next(runtime.lib.glob("aws-lambda-java-core-*.jar"))
    greeting_classes = work / "greeting-classes"
    task = work / "task"
    greeting = task / "lib/greeting.jar"
    subprocess.run(
        [compiler, "--release", "17", "-d", str(greeting_classes),
         *map(str, sorted((HANDLERS / "lib-src").rglob("*.java")))],
        check=True,
        timeout=300,
    )  # fmt: skip
    jar(greeting_classes, greeting)
    subprocess.run(
        [compiler, "--release", "17", "-cp", f"{core}:{greeting}", "-d", str(task),
         *map(str, sorted((HANDLERS / "src").rglob("*.java")))],
        check=True,
        timeout=300,
    )  # fmt: skip
    return task
