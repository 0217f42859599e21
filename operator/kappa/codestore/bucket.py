"""The packages in an S3-compatible bucket, instead of on a volume.

Layout under the bucket's ``prefix``::

    signing-key                   the key of the capability URLs (made on first start)
    packages/<namespace>/<sha256> one package; its LastModified is its last upload

Uploads are staged on local disk (``staging``, an emptyDir) as for the volume, checked,
then sent with one PutObject (at most 50 MB: no multipart needed); uploading the same
bytes again puts them again, which renews LastModified. Function pods still download
from the store (it reads the object and streams it on), so they need no credentials and
no route to the bucket. The client is botocore's, with the SDKs' credential chain (the
``AWS_*`` variables, web identity, instance metadata); its calls block, so they run in
threads, and one lock per package orders an upload and the collector's
check-and-delete of the same package (the store runs one replica).
"""

import asyncio
import contextlib
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import botocore.config
import botocore.exceptions
import botocore.session
from aiohttp import web
from aiohttp.payload import AsyncIterablePayload

from kappa.codestore.capability import (
    KEY_BYTES,
    BadPackageNameError,
    PackageKey,
    package_key,
)
from kappa.codestore.garbage import StoredPackage
from kappa.codestore.storage import StorageError, Upload

_CHUNK: Final = 1024 * 1024
_MISSING: Final = frozenset({"404", "NoSuchKey", "NotFound"})


class Bucket:
    """The packages under ``prefix`` in ``bucket`` (a ``storage.Storage``)."""

    def __init__(  # noqa: PLR0913 - the bucket's coordinates, keyword-only
        self,
        *,
        bucket: str,
        prefix: str = "",
        endpoint: str | None = None,
        region: str | None = None,
        staging: Path,
        client: Any = None,
    ) -> None:
        """``endpoint``: an S3-compatible server (path-style addressing); ``client``: tests'."""
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.staging = staging
        if client is None:
            options = {"addressing_style": "path"} if endpoint else {}
            client = botocore.session.get_session().create_client(
                "s3",
                endpoint_url=endpoint,
                region_name=region or "us-east-1",
                config=botocore.config.Config(
                    s3=options,
                    retries={"mode": "standard"},
                    connect_timeout=5,
                    read_timeout=60,
                    # Checksums only where S3 requires them: S3-compatible servers differ
                    # on the newer ones (the store checks every package's sha256 itself).
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                ),
            )
        self._s3 = client
        self._locks: defaultdict[PackageKey, asyncio.Lock] = defaultdict(asyncio.Lock)

    def _object(self, key: PackageKey) -> str:
        return f"{self.prefix}packages/{key.namespace}/{key.sha256}"

    def prepare(self) -> None:
        """Make the staging directory (emptied) and check that the bucket answers."""
        self.staging.mkdir(parents=True, exist_ok=True)
        for leftover in self.staging.iterdir():
            leftover.unlink(missing_ok=True)
        self._s3.head_bucket(Bucket=self.bucket)

    def signing_key(self) -> bytes:
        """The key in ``<prefix>signing-key``, put there (random) the first time."""
        name = f"{self.prefix}signing-key"
        try:
            key: bytes = self._s3.get_object(Bucket=self.bucket, Key=name)["Body"].read()
        except botocore.exceptions.ClientError as exc:
            if not _missing(exc):
                raise
            key = secrets.token_bytes(KEY_BYTES)
            self._s3.put_object(Bucket=self.bucket, Key=name, Body=key)
        if len(key) < KEY_BYTES:
            msg = f"s3://{self.bucket}/{name} holds {len(key)} bytes, fewer than {KEY_BYTES}"
            raise ValueError(msg)
        return key

    def new_upload(self) -> Upload:
        """A temporary file in the staging directory."""
        return Upload(self.staging)

    async def commit(self, upload: Upload, key: PackageKey, now: float) -> bool:
        """PutObject the finished ``upload``; whether it is new. ``now`` is the bucket's.

        StorageError when the bucket refuses or does not answer.
        """
        del now  # the bucket stamps LastModified itself
        await asyncio.to_thread(upload.finish)
        async with self._locks[key]:
            try:
                existed = await asyncio.to_thread(self._exists, key)
                await asyncio.to_thread(self._put, upload.path, key)
            except botocore.exceptions.BotoCoreError as exc:
                raise StorageError(f"s3://{self.bucket}: {exc}") from exc
            except botocore.exceptions.ClientError as exc:
                raise StorageError(f"s3://{self.bucket}: {exc}") from exc
        return not existed

    def _exists(self, key: PackageKey) -> bool:
        try:
            self._s3.head_object(Bucket=self.bucket, Key=self._object(key))
        except botocore.exceptions.ClientError as exc:
            if _missing(exc):
                return False
            raise
        return True

    def _put(self, path: Path, key: PackageKey) -> None:
        with path.open("rb") as body:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=self._object(key),
                Body=body,
                ContentType="application/zip",
            )

    async def open(self, key: PackageKey) -> web.StreamResponse | None:
        """The object, streamed on as it is read; None when there is none.

        StorageError when the bucket refuses or does not answer.
        """
        try:
            found = await asyncio.to_thread(
                self._s3.get_object, Bucket=self.bucket, Key=self._object(key)
            )
        except botocore.exceptions.ClientError as exc:
            if _missing(exc):
                return None
            raise StorageError(f"s3://{self.bucket}: {exc}") from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise StorageError(f"s3://{self.bucket}: {exc}") from exc
        body = found["Body"]

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while chunk := await asyncio.to_thread(body.read, _CHUNK):
                    yield chunk
            finally:
                body.close()

        return web.Response(
            body=AsyncIterablePayload(chunks()),
            headers={"Content-Type": "application/zip",
                     "Content-Length": str(found["ContentLength"])},
        )  # fmt: skip

    def list(self) -> list[StoredPackage]:
        """Every package under the prefix (ListObjectsV2, page by page)."""
        return list(self._listed())

    def _listed(self) -> Iterator[StoredPackage]:
        start = f"{self.prefix}packages/"
        pages = self._s3.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.bucket, Prefix=start):
            for item in page.get("Contents") or ():
                namespace, _, sha = str(item["Key"]).removeprefix(start).partition("/")
                try:
                    key = package_key(namespace, sha)
                except BadPackageNameError:
                    continue
                yield StoredPackage(key, int(item["Size"]), _epoch(item["LastModified"]))

    async def delete_if_unchanged(self, package: StoredPackage) -> bool:
        """Delete ``package`` if its LastModified is still the one it was listed with."""
        async with self._locks[package.key]:
            return await asyncio.to_thread(self._delete_if_unchanged, package)

    def _delete_if_unchanged(self, package: StoredPackage) -> bool:
        name = self._object(package.key)
        try:
            head = self._s3.head_object(Bucket=self.bucket, Key=name)
        except botocore.exceptions.ClientError as exc:
            if _missing(exc):
                return False
            raise
        if _epoch(head["LastModified"]) != package.uploaded_at:
            return False
        with contextlib.suppress(botocore.exceptions.ClientError):
            self._s3.delete_object(Bucket=self.bucket, Key=name)
            return True
        return False


def _missing(exc: botocore.exceptions.ClientError) -> bool:
    error = exc.response.get("Error") or {}
    return str(error.get("Code")) in _MISSING


def _epoch(moment: datetime) -> float:
    return moment.timestamp()
