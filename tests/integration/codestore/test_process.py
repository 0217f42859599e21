"""`python -m kappa codestore` as a process: it serves uploads and downloads from its
volume, refuses bad settings naming them, and stops cleanly on SIGTERM."""

import asyncio
import hashlib
import io
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from aiohttp import web

from tests.integration.codestore.fake_s3 import FakeS3


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def test_the_process_serves_its_volume_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"KAPPA_CODESTORE_HOST": "127.0.0.1", "KAPPA_CODESTORE_PORT": str(port),
           "KAPPA_CODESTORE_ROOT": str(tmp_path / "volume"), "KAPPA_CODESTORE_URL": base,
           "KAPPA_CODESTORE_AUTH": "none", "KAPPA_CODESTORE_GC_INTERVAL_SECONDS": "0",
           "PYTHONPATH": ":".join(sys.path)}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "kappa", "codestore"], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not _healthy(base):  # a deadline only against a hang
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the code store never answered"
            time.sleep(0.1)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("app.py", b"x = 1\n")
        package = buffer.getvalue()
        sha = hashlib.sha256(package).hexdigest()
        upload = urllib.request.Request(
            f"{base}/v1/packages/team-a/{sha}", data=package, method="PUT"
        )
        with urllib.request.urlopen(upload, timeout=30) as answer:
            assert answer.status == 201
            url = json.loads(answer.read())["url"]
        assert url.startswith(f"{base}/v1/packages/team-a/{sha}?sig=")
        with urllib.request.urlopen(url, timeout=30) as answer:
            assert answer.read() == package
        assert (tmp_path / "volume" / "packages" / "team-a" / sha).read_bytes() == package
        key = (tmp_path / "volume" / "signing-key").read_bytes()
        assert len(key) == 32
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
    assert process.returncode == 0, output
    assert "Traceback" not in output


def test_bad_settings_stop_it_naming_the_variable(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kappa", "codestore"],
        env={"KAPPA_CODESTORE_ROOT": str(tmp_path), "KAPPA_CODESTORE_MAX_BYTES": "huge",
             "PYTHONPATH": ":".join(sys.path)},
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "KAPPA_CODESTORE_MAX_BYTES" in done.stderr
    assert "KAPPA_CODESTORE_UPLOADERS" in done.stderr  # every problem at once


def test_a_restart_keeps_the_key_so_the_urls_stay_valid(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"KAPPA_CODESTORE_HOST": "127.0.0.1", "KAPPA_CODESTORE_PORT": str(port),
           "KAPPA_CODESTORE_ROOT": str(tmp_path / "volume"), "KAPPA_CODESTORE_URL": base,
           "KAPPA_CODESTORE_AUTH": "none", "KAPPA_CODESTORE_GC_INTERVAL_SECONDS": "0",
           "PYTHONPATH": ":".join(sys.path)}  # fmt: skip
    keys = []
    for _ in range(2):
        process = subprocess.Popen([sys.executable, "-m", "kappa", "codestore"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while not _healthy(base):
                assert process.poll() is None
                assert time.monotonic() < deadline
                time.sleep(0.1)
            keys.append((tmp_path / "volume" / "signing-key").read_bytes())
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    assert keys[0] == keys[1]


def test_the_process_keeps_packages_in_a_bucket_when_given_one(tmp_path: Path) -> None:
    fake = FakeS3("kappa-packages")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner = web.AppRunner(fake.app())
    asyncio.run_coroutine_threadsafe(runner.setup(), loop).result(10)
    s3_port = _free_port()
    site = web.TCPSite(runner, "127.0.0.1", s3_port)
    asyncio.run_coroutine_threadsafe(site.start(), loop).result(10)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"KAPPA_CODESTORE_HOST": "127.0.0.1", "KAPPA_CODESTORE_PORT": str(port),
           "KAPPA_CODESTORE_ROOT": str(tmp_path / "staging"), "KAPPA_CODESTORE_URL": base,
           "KAPPA_CODESTORE_AUTH": "none", "KAPPA_CODESTORE_GC_INTERVAL_SECONDS": "0",
           "KAPPA_CODESTORE_S3_BUCKET": "kappa-packages", "KAPPA_CODESTORE_S3_PREFIX": "p",
           "KAPPA_CODESTORE_S3_ENDPOINT": f"http://127.0.0.1:{s3_port}",
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
           "PYTHONPATH": ":".join(sys.path)}  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "kappa", "codestore"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not _healthy(base):  # a deadline only against a hang
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the code store never answered"
            time.sleep(0.1)
        package = b"PK" + b"\0" * 1000
        sha = hashlib.sha256(package).hexdigest()
        upload = urllib.request.Request(
            f"{base}/v1/packages/team-a/{sha}", data=package, method="PUT"
        )
        with urllib.request.urlopen(upload, timeout=30) as answer:
            url = json.loads(answer.read())["url"]
        with urllib.request.urlopen(url, timeout=30) as answer:
            assert answer.read() == package
        assert fake.objects[f"p/packages/team-a/{sha}"].body == package
        assert not (tmp_path / "staging" / "packages").exists()  # nothing kept on disk
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
    assert process.returncode == 0, output
