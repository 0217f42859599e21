"""The code store over an S3-compatible bucket (botocore's real client against a small
S3 server in this process): uploads, downloads by the signed URL, the agent's install,
the signing key kept in the bucket, and the collector's deletions."""

import asyncio
import hashlib
import io
import zipfile
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import botocore.exceptions
import pytest
from aiohttp import web

from kappa.agent.code_archive import install
from kappa.codestore import collector
from kappa.codestore.bucket import Bucket
from kappa.codestore.capability import package_key
from kappa.codestore.metrics import CodeStoreMetrics
from kappa.codestore.server import StoreConfig, make_app
from tests.integration.codestore.fake_s3 import FakeS3

MAX = 8 * 1024 * 1024


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")  # the fake checks no signature
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


def _zip(text: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("handler.py", text)
    return out.getvalue()


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


Scenario = Callable[[aiohttp.ClientSession, Bucket, FakeS3], Awaitable[None]]


def _run(tmp_path: Path, scenario: Scenario) -> None:
    async def main() -> None:
        fake = FakeS3("packages")
        s3_runner, s3_url = await _serve(fake.app())
        bucket = Bucket(bucket="packages", prefix="kappa", endpoint=s3_url,
                        staging=tmp_path / "staging")  # fmt: skip
        await asyncio.to_thread(bucket.prepare)
        key = await asyncio.to_thread(bucket.signing_key)
        app = make_app(bucket, StoreConfig("http://store", key, MAX), CodeStoreMetrics())
        store_runner, store_url = await _serve(app)
        try:
            async with aiohttp.ClientSession(store_url) as session:
                await scenario(session, bucket, fake)
        finally:
            await store_runner.cleanup()
            await s3_runner.cleanup()

    asyncio.run(asyncio.wait_for(main(), 60))


async def _upload(session: aiohttp.ClientSession, namespace: str, data: bytes) -> tuple[int, Any]:
    sha = hashlib.sha256(data).hexdigest()
    async with session.put(f"/v1/packages/{namespace}/{sha}", data=io.BytesIO(data)) as answer:
        return answer.status, await answer.json()


def _local(url: str, session: aiohttp.ClientSession) -> str:
    return url.replace("http://store", str(session._base_url).rstrip("/"))  # noqa: SLF001


def test_packages_round_trip_through_the_bucket(tmp_path: Path) -> None:
    package = _zip(b"def handler(e, c):\n    return 'from the bucket'\n")
    sha = hashlib.sha256(package).hexdigest()

    async def scenario(session: aiohttp.ClientSession, bucket: Bucket, fake: FakeS3) -> None:
        status, answer = await _upload(session, "team-a", package)
        assert status == 201
        assert fake.objects[f"kappa/packages/team-a/{sha}"].body == package
        assert "kappa/signing-key" in fake.objects
        url = _local(answer["url"], session)
        async with session.get(url) as response:
            assert response.status == 200
            assert response.headers["Content-Length"] == str(len(package))
            assert await response.read() == package
        root = tmp_path / "task"
        await asyncio.to_thread(install, url, bytes.fromhex(sha), root)
        assert b"from the bucket" in (root / "handler.py").read_bytes()
        status, _ = await _upload(session, "team-a", package)
        assert status == 200  # the same bytes again: renewed
        async with session.get(url.replace("team-a", "team-b")) as response:
            assert response.status == 403
        missing = url.replace(sha, "0" * 64)
        async with session.get(missing) as response:
            assert response.status == 403  # the signature is for the other package
        [stored] = await asyncio.to_thread(bucket.list)
        assert stored.key == package_key("team-a", sha)
        assert stored.size == len(package)
        assert list((tmp_path / "staging").iterdir()) == []

    _run(tmp_path, scenario)


def test_the_collector_deletes_unnamed_packages_but_not_one_uploaded_again(
    tmp_path: Path,
) -> None:
    named, orphan, renewed = _zip(b"named"), _zip(b"orphan"), _zip(b"renewed")

    async def scenario(session: aiohttp.ClientSession, bucket: Bucket, fake: FakeS3) -> None:
        for data in (named, orphan, renewed):
            assert (await _upload(session, "team-a", data))[0] == 201
        listed = {p.key.sha256: p for p in await asyncio.to_thread(bucket.list)}
        fake.now += 7200  # two hours later, the same bytes uploaded again
        assert (await _upload(session, "team-a", renewed))[0] == 200
        old = listed[hashlib.sha256(renewed).hexdigest()]
        assert not await bucket.delete_if_unchanged(old)  # planned with its former time

        async def objects() -> list[Mapping[str, Any]]:
            sha = hashlib.sha256(named).hexdigest()
            return [{"metadata": {"namespace": "team-a"},
                     "spec": {"code": {"url": {"url": "http://store/x", "sha256": sha}}}}]  # fmt: skip

        deleted = await collector.collect(bucket, objects, CodeStoreMetrics(),
                                          grace_seconds=3600, clock=lambda: fake.now)  # fmt: skip
        assert deleted is not None
        assert [p.key.sha256 for p in deleted] == [hashlib.sha256(orphan).hexdigest()]
        left = {p.key.sha256 for p in await asyncio.to_thread(bucket.list)}
        assert left == {hashlib.sha256(named).hexdigest(), hashlib.sha256(renewed).hexdigest()}

    _run(tmp_path, scenario)


def test_the_signing_key_stays_in_the_bucket_across_restarts(tmp_path: Path) -> None:
    async def scenario(session: aiohttp.ClientSession, bucket: Bucket, fake: FakeS3) -> None:
        del session
        first = await asyncio.to_thread(bucket.signing_key)
        again = Bucket(bucket="packages", prefix="kappa/", endpoint=_endpoint(bucket),
                       staging=tmp_path / "other")  # fmt: skip
        assert await asyncio.to_thread(again.signing_key) == first
        assert len(fake.objects["kappa/signing-key"].body) == 32

    _run(tmp_path, scenario)


def test_a_bucket_that_does_not_answer_stops_the_store(tmp_path: Path) -> None:
    async def scenario(session: aiohttp.ClientSession, bucket: Bucket, fake: FakeS3) -> None:
        del session, fake
        other = Bucket(bucket="absent", endpoint=_endpoint(bucket), staging=tmp_path / "x")
        with pytest.raises(botocore.exceptions.ClientError):
            await asyncio.to_thread(other.prepare)

    _run(tmp_path, scenario)


def _endpoint(bucket: Bucket) -> str:
    return str(bucket._s3.meta.endpoint_url)  # noqa: SLF001 - the same fake server


def test_a_bucket_in_trouble_is_503_and_the_store_keeps_serving(tmp_path: Path) -> None:
    package = _zip(b"x = 1\n")
    sha = hashlib.sha256(package).hexdigest()

    async def scenario(session: aiohttp.ClientSession, bucket: Bucket, fake: FakeS3) -> None:
        del bucket
        _, answer = await _upload(session, "team-a", package)
        url = _local(answer["url"], session)
        fake.bucket = "renamed"  # every call now answers NoSuchBucket
        status, refused = await _upload(session, "team-a", _zip(b"y = 2\n"))
        assert status == 503
        assert "retry" in refused["message"]
        async with session.get(url) as response:
            assert response.status == 503
        fake.bucket = "packages"
        async with session.get(url) as response:
            assert response.status == 200
            assert hashlib.sha256(await response.read()).hexdigest() == sha
        assert list((tmp_path / "staging").iterdir()) == []

    _run(tmp_path, scenario)
