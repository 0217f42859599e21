"""``kappa deploy``'s package: the folder with its dependencies, vendored and zipped.

``requirements.txt``: ``pip install --target`` for the runtime's Python on Linux
(manylinux wheels only, ``--only-binary=:all:``: a package without a wheel for that
platform cannot be built here for another one). ``package.json``: ``npm install
--omit=dev`` in the package's copy. The zip is the same bytes for the same files (sorted
entries, fixed times), so a deploy without changes changes no revision. Lambda's 250 MB
unzipped bounds what is packaged.
"""

import io
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

MAX_UNZIPPED_BYTES: Final = 250 * 1024 * 1024
SKIPPED: Final = frozenset(
    {".aws-sam", ".git", ".kappa", ".venv", "__pycache__", "node_modules", "kappa.yaml"}
)
"""Never packaged: version control, local environments, build output (sam build's too), the
deploy settings."""
ARCHITECTURES: Final = {"x86_64": "x86_64", "arm64": "aarch64"}
_MANYLINUX: Final = ("manylinux_2_28", "manylinux_2_17", "manylinux2014")
_ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)
_STEP_TIMEOUT_SECONDS: Final = 900


class PackageError(Exception):
    """The package could not be built; the message says what to fix or install."""


def pip_command(requirements: Path, target: Path, python_version: str, arch: str) -> list[str]:
    """Pip's arguments to install ``requirements`` for the runtime's Python on Linux."""
    machine = ARCHITECTURES[arch]
    platforms = [arg for tag in _MANYLINUX for arg in ("--platform", f"{tag}_{machine}")]
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-input", "--no-compile", "--target", str(target), "--requirement", str(requirements),
        *platforms, "--implementation", "cp", "--python-version", python_version,
        "--only-binary=:all:",
    ]  # fmt: skip


def npm_command() -> list[str]:
    """Npm's arguments to install package.json's dependencies, without the dev ones."""
    npm = shutil.which("npm")
    if npm is None:
        raise PackageError("package.json needs npm: install Node.js (with npm) and deploy again")
    return [npm, "install", "--omit=dev", "--no-audit", "--no-fund"]


def _run(step: str, command: list[str], cwd: Path) -> None:
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program with the folder's own files
            command,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            timeout=_STEP_TIMEOUT_SECONDS,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PackageError(f"{step} could not run: {error}") from error
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise PackageError(f"{step} failed (exit {done.returncode}):\n{tail}")


def _copy_sources(source: Path, target: Path) -> None:
    def ignore(_: str, names: list[str]) -> set[str]:
        return {name for name in names if name in SKIPPED}

    shutil.copytree(source, target, ignore=ignore, symlinks=True, dirs_exist_ok=True)


def build(
    source: Path,
    *,
    python_version: str | None,
    arch: str = "x86_64",
    progress: Callable[[str], None] = lambda _: None,
    layer: bool = False,
) -> bytes:
    """The zip of ``source`` with its dependencies vendored (PackageError saying why not).

    ``layer``: a Layer's zip, its dependencies where Lambda's runtimes look under /opt:
    requirements.txt into ``python/``, package.json's into ``nodejs/node_modules``.
    """
    if not source.is_dir():
        raise PackageError(f"{source} is not a folder: run kappa init {source} first")
    with tempfile.TemporaryDirectory(prefix="kappa-package-") as scratch:
        root = Path(scratch)
        _copy_sources(source, root)
        requirements = source / "requirements.txt"
        if python_version is not None and requirements.is_file():
            progress(f"installing requirements.txt for Python {python_version} on Linux {arch}")
            target = root / "python" if layer else root
            command = pip_command(requirements.resolve(), target, python_version, arch)
            _run("pip", command, root)
        if python_version is None and (source / "package.json").is_file():
            progress("installing package.json's dependencies (npm install --omit=dev)")
            where = root
            if layer:
                where = root / "nodejs"
                where.mkdir(exist_ok=True)
                for name in ("package.json", "package-lock.json"):
                    if (root / name).is_file():
                        (root / name).rename(where / name)
            _run("npm", npm_command(), where)
        return zip_tree(root)


def _files(root: Path) -> Iterator[Path]:
    for here, directories, names in os.walk(root):
        directories.sort()
        for name in sorted(names) + [d for d in directories if Path(here, d).is_symlink()]:
            yield Path(here, name)


def zip_tree(root: Path) -> bytes:
    """A zip of the files under ``root``: sorted, fixed times, modes and symlinks kept."""
    buffer = io.BytesIO()
    total = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(_files(root)):
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), _ZIP_TIME)
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(info, str(path.readlink()))
                continue
            total += path.stat().st_size
            if total > MAX_UNZIPPED_BYTES:
                msg = f"the package passes Lambda's {MAX_UNZIPPED_BYTES:,} bytes unzipped"
                raise PackageError(msg)
            executable = mode & stat.S_IXUSR
            info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()
