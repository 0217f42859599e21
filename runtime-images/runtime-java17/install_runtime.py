#!/usr/bin/env python3
"""Install the java17 runtime (AWS's Java Runtime Interface Client) into RUNTIME_DIR.

    install_runtime.py RUNTIME_DIR [--cache DIR]      e.g. install_runtime.py /var/runtime

Downloads the jars jars.txt names from Maven Central, checks each against its pinned
sha256, and lays out what Lambda's java runtimes have in /var/runtime:

    lib/*.jar                       the client, aws-lambda-java-core, -serialization...
    lib/jni/libaws-lambda-jni.so    the client's native part for this machine, taken
                                    out of its jar (the bootstrap points the client at
                                    it, so nothing is unpacked into /tmp at start-up)
    bootstrap                       what the kappa agent starts, once per slot

Only the standard library is used: the runtime image's build stage and the
integration tests' fixture run it with whatever python3 they have. With --cache the
jars are kept there and reused while their hash matches. A jar is authenticated by
its pinned hash, not by TLS: when the network re-signs TLS with a CA that the build
container does not trust (a TLS-inspecting proxy whose CA only the host has), the
download is retried without certificate verification, with a warning, and the hash
still decides. MAVEN_REPOSITORY overrides Maven Central's address (a mirror).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import ssl
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CENTRAL = "https://repo1.maven.org/maven2"
CLIENT = "aws-lambda-java-runtime-interface-client"
# platform.machine() -> the suffix of the client's native library for glibc.
ARCHES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch_64", "arm64": "aarch_64"}
JNI_NAME = "libaws-lambda-jni.so"
MAX_JAR_BYTES = 64 * 1024 * 1024


def pinned_jars(listing: Path) -> list[tuple[str, str, str, str]]:
    """(group, artifact, version, sha256) of each line of jars.txt."""
    jars = []
    for line in listing.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        coordinates, sha256 = line.split()
        group, artifact, version = coordinates.split(":")
        jars.append((group, artifact, version, sha256))
    return jars


def _download(url: str) -> bytes:
    try:
        return _read(url, None)
    except urllib.error.URLError as exc:
        if not isinstance(exc.reason, ssl.SSLCertVerificationError):
            raise
        print(
            f"warning: {url}: the certificate is not trusted here ({exc.reason}); "
            "the pinned sha256 authenticates the jar",
            file=sys.stderr,
        )
        return _read(url, ssl._create_unverified_context())  # noqa: S323 - the hash decides


def _read(url: str, context: ssl.SSLContext | None) -> bytes:
    with urllib.request.urlopen(url, timeout=120, context=context) as response:  # noqa: S310
        data: bytes = response.read(MAX_JAR_BYTES + 1)
    if len(data) > MAX_JAR_BYTES:
        raise SystemExit(f"{url}: larger than {MAX_JAR_BYTES} bytes")
    return data


def fetch_jar(group: str, artifact: str, version: str, sha256: str, cache: Path | None) -> bytes:
    """The jar's bytes, from the cache or Maven Central, checked against ``sha256``."""
    name = f"{artifact}-{version}.jar"
    cached = cache / name if cache else None
    if cached is not None and cached.is_file():
        data = cached.read_bytes()
        if hashlib.sha256(data).hexdigest() == sha256:
            return data
    repository = os.environ.get("MAVEN_REPOSITORY", CENTRAL).rstrip("/")
    url = f"{repository}/{group.replace('.', '/')}/{artifact}/{version}/{name}"
    data = _download(url)
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise SystemExit(f"{url}: sha256 is {digest}, jars.txt pins {sha256}")
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(data)
    return data


def install(runtime_dir: Path, cache: Path | None) -> None:
    arch = ARCHES.get(platform.machine().lower())
    if arch is None:
        raise SystemExit(f"no native runtime client for {platform.machine()}")
    work = Path(tempfile.mkdtemp(prefix="java-runtime-", dir=runtime_dir.parent))
    try:
        lib = work / "lib"
        (lib / "jni").mkdir(parents=True)
        for group, artifact, version, sha256 in pinned_jars(HERE / "jars.txt"):
            data = fetch_jar(group, artifact, version, sha256, cache)
            jar = lib / f"{artifact}-{version}.jar"
            jar.write_bytes(data)
            if artifact == CLIENT:
                with zipfile.ZipFile(jar) as client:
                    native = client.read(f"jni/libaws-lambda-jni.linux-{arch}.so")
                (lib / "jni" / JNI_NAME).write_bytes(native)
        shutil.copyfile(HERE / "bootstrap", work / "bootstrap")
        for path in work.rglob("*"):
            path.chmod(0o755 if path.is_dir() or path.name == "bootstrap" else 0o644)
        work.chmod(0o755)
        if runtime_dir.exists():
            shutil.rmtree(runtime_dir)
        work.rename(runtime_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runtime_dir", type=Path)
    parser.add_argument("--cache", type=Path, help="keep and reuse the downloaded jars here")
    args = parser.parse_args()
    install(args.runtime_dir.absolute(), args.cache)


if __name__ == "__main__":
    main()
