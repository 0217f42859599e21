"""Images of code only (``FROM scratch`` and files), built and imported as the project's own
images are (runtime-images/build.sh: buildah, no daemon, no registry; the local cluster's
containerd imports the archive, e2e/local/images.sh), for Functions whose ``code.image``
runs on a managed runtime (docs/runtimes.md, "Code in an image")."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

CACHE = Path(os.environ.get("KAPPA_CACHE", "/var/cache/kappa"))
CONTAINERD_SOCK = "/run/kappa-local/containerd/containerd.sock"
DOCKERFILE = """\
FROM scratch
COPY task/ /var/task/
"""


def _buildah() -> list[str]:
    if shutil.which("buildah") is None:
        msg = "buildah is needed to build a code image (e2e/local/deps.sh installs it)"
        raise RuntimeError(msg)
    root = CACHE / "buildah"
    return [
        "buildah", "--root", str(root / "storage"), "--runroot", str(root / "run"),
        "--storage-driver", "overlay",
    ]  # fmt: skip


def build_code_image(files: dict[str, str], links: dict[str, str], ref: str, work: Path) -> Path:
    """Build ``ref`` FROM scratch with ``files`` (path: content) and ``links`` (path: target)
    under /var/task; return its docker-archive."""
    task = work / "task"
    for name, content in files.items():
        (task / name).parent.mkdir(parents=True, exist_ok=True)
        (task / name).write_text(content)
    for name, target in links.items():
        (task / name).parent.mkdir(parents=True, exist_ok=True)
        (task / name).symlink_to(target)
    (work / "Dockerfile").write_text(DOCKERFILE)
    buildah = _buildah()
    subprocess.run(
        [*buildah, "bud", "--isolation", "chroot", "-q", "-f", str(work / "Dockerfile"),
         "-t", ref, str(work)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    archive = work / "image.tar"
    subprocess.run(
        [*buildah, "push", "-q", ref, f"docker-archive:{archive}:{ref}"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    subprocess.run([*buildah, "rmi", ref], check=False, capture_output=True)
    return archive


def import_into_local_cluster(archive: Path) -> None:
    """Import the archive into the local cluster's containerd, where pods find it."""
    subprocess.run(
        ["ctr", "--address", CONTAINERD_SOCK, "-n", "k8s.io", "images", "import",
         "--no-unpack=false", str(archive)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip


def image_files(archive: Path, work: Path) -> dict[str, str]:
    """Path → type and target of each entry of the archive's one layer (checking a build
    without a cluster): ``file``, ``dir`` or ``link -> target``."""
    unpacked = work / "unpacked"
    unpacked.mkdir()
    subprocess.run(["tar", "-xf", str(archive), "-C", str(unpacked)], check=True)
    manifest = json.loads((unpacked / "manifest.json").read_text())[0]
    (layer,) = manifest["Layers"]
    listing = subprocess.run(
        ["tar", "-tvf", str(unpacked / layer)], check=True, capture_output=True, text=True
    ).stdout
    entries: dict[str, str] = {}
    for line in listing.splitlines():
        fields = line.split(None, 5)
        name = fields[5]
        kind = {"d": "dir", "l": "link", "-": "file"}.get(line[0], line[0])
        if kind == "link":
            name, target = name.split(" -> ", 1)
            kind = f"link -> {target}"
        entries[name.rstrip("/").removeprefix("./")] = kind
    return entries
