"""A small S3-compatible server for the code store's bucket tests: the calls the store
makes (HeadBucket, Put/Get/Head/DeleteObject, ListObjectsV2), path-style, in memory."""

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

from aiohttp import web

_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


@dataclass
class Object:
    body: bytes
    modified: datetime


@dataclass
class FakeS3:
    """One bucket's objects; ``clock`` stamps LastModified (whole seconds, as S3's)."""

    bucket: str
    objects: dict[str, Object] = field(default_factory=dict)
    now: float = 1_000_000.0

    def stamp(self) -> datetime:
        return datetime.fromtimestamp(int(self.now), UTC)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("HEAD", "/{bucket}", self.head_bucket)
        app.router.add_get("/{bucket}", self.list_objects, allow_head=False)
        app.router.add_put("/{bucket}/{key:.+}", self.put)
        app.router.add_get("/{bucket}/{key:.+}", self.get, allow_head=False)
        app.router.add_route("HEAD", "/{bucket}/{key:.+}", self.head)
        app.router.add_delete("/{bucket}/{key:.+}", self.delete)
        return app

    def _check(self, request: web.Request) -> web.Response | None:
        if request.match_info["bucket"] != self.bucket:
            return _error(404, "NoSuchBucket", request.method != "HEAD")
        return None

    async def head_bucket(self, request: web.Request) -> web.Response:
        return self._check(request) or web.Response()

    async def put(self, request: web.Request) -> web.Response:
        if (refused := self._check(request)) is not None:
            return refused
        body = await request.read()
        self.objects[request.match_info["key"]] = Object(body, self.stamp())
        return web.Response(headers={"ETag": f'"{hashlib.md5(body).hexdigest()}"'})  # noqa: S324 - S3's ETag

    def _found(self, request: web.Request) -> Object | None:
        return self.objects.get(request.match_info["key"])

    def _headers(self, found: Object) -> dict[str, str]:
        return {"Last-Modified": format_datetime(found.modified, usegmt=True),
                "Content-Type": "application/zip",
                "ETag": f'"{hashlib.md5(found.body).hexdigest()}"'}  # noqa: S324  # fmt: skip

    async def get(self, request: web.Request) -> web.Response:
        if (refused := self._check(request)) is not None:
            return refused
        if (found := self._found(request)) is None:
            return _error(404, "NoSuchKey", body=True)
        return web.Response(body=found.body, headers=self._headers(found))

    async def head(self, request: web.Request) -> web.Response:
        if (refused := self._check(request)) is not None:
            return refused
        if (found := self._found(request)) is None:
            return _error(404, "NotFound", body=False)
        return web.Response(headers=self._headers(found))

    async def delete(self, request: web.Request) -> web.Response:
        self.objects.pop(request.match_info["key"], None)
        return web.Response(status=204)

    async def list_objects(self, request: web.Request) -> web.Response:
        if (refused := self._check(request)) is not None:
            return refused
        prefix = request.query.get("prefix", "")
        contents = "".join(
            f"<Contents><Key>{escape(name)}</Key>"
            f"<LastModified>{found.modified.strftime('%Y-%m-%dT%H:%M:%S.000Z')}</LastModified>"
            f"<Size>{len(found.body)}</Size><StorageClass>STANDARD</StorageClass></Contents>"
            for name, found in sorted(self.objects.items())
            if name.startswith(prefix)
        )
        xml = (f'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="{_NS}">'
               f"<Name>{self.bucket}</Name><Prefix>{escape(prefix)}</Prefix>"
               f"<KeyCount>{contents.count('<Contents>')}</KeyCount><MaxKeys>1000</MaxKeys>"
               f"<IsTruncated>false</IsTruncated>{contents}</ListBucketResult>")  # fmt: skip
        return web.Response(text=xml, content_type="application/xml")


def _error(status: int, code: str, body: bool) -> web.Response:  # noqa: FBT001
    if not body:
        return web.Response(status=status)
    xml = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{code}</Message></Error>'
    return web.Response(status=status, text=xml, content_type="application/xml")
