"""The code store's settings, parsed once from the environment (its only reader of it).

- ``KAPPA_CODESTORE_HOST`` (0.0.0.0), ``KAPPA_CODESTORE_PORT`` (8080);
- ``KAPPA_CODESTORE_ROOT`` (``/var/lib/kappa-codestore``): the volume's mount (with a
  bucket: where uploads are staged);
- ``KAPPA_CODESTORE_S3_BUCKET``: keep the packages in this S3-compatible bucket instead
  of on the volume, under ``KAPPA_CODESTORE_S3_PREFIX``; ``KAPPA_CODESTORE_S3_ENDPOINT``
  an S3-compatible server's URL (path-style; unset: AWS), ``KAPPA_CODESTORE_S3_REGION``;
  credentials as the AWS SDKs find them (``AWS_ACCESS_KEY_ID``…, web identity, instance
  role);
- ``KAPPA_CODESTORE_URL``: the URL function pods reach the store by, which the
  capability URLs start with (the chart gives ``http://$(<SERVICE>_SERVICE_HOST):8080``,
  the Service's ClusterIP, as the cluster may have no DNS); unset:
  ``http://127.0.0.1:<port>`` (tests);
- ``KAPPA_CODESTORE_MAX_BYTES`` (52428800, Lambda's 50 MB zipped upload): the largest
  package;
- ``KAPPA_CODESTORE_MAX_UPLOADS`` (4): uploads at once (more get 429);
- ``KAPPA_CODESTORE_AUTH`` (``kubernetes``): uploads need a bearer token (TokenReview,
  audiences ``KAPPA_CODESTORE_TOKEN_AUDIENCES``, ``kappa``) of one of
  ``KAPPA_CODESTORE_UPLOADERS`` (comma-separated user names, such as
  ``system:serviceaccount:kappa-system:kappa-gateway``); ``none``: anyone may upload
  (tests only);
- ``KAPPA_CODESTORE_GC_INTERVAL_SECONDS`` (300; 0 = no collection) and
  ``KAPPA_CODESTORE_GC_GRACE_SECONDS`` (3600): how often unnamed packages are deleted,
  and how long after its last upload a package is kept though nothing names it;
- ``KAPPA_LOG_LEVEL`` (INFO), ``KAPPA_LOG_FORMAT`` (text).
"""

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from kappa.base.env import EnvReader, SettingsError
from kappa.base.logs import LOG_FORMATS, LOG_LEVELS

LAMBDA_ZIP_MAX_BYTES: Final = 50 * 1024 * 1024
_DEFAULT_HOST: Final = "0.0.0.0"  # noqa: S104 - a Service reaches the pod on its IP
_MAX_PORT: Final = 65535
_MAX_UPLOADS: Final = 64
_DAY: Final = 86400.0
_URL_PREFIXES: Final = ("http://", "https://")
_BUCKET_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_MAX_PREFIX: Final = 512


@dataclass(frozen=True, slots=True)
class CodeStoreSettings:
    """Validated code store settings."""

    host: str = _DEFAULT_HOST
    port: int = 8080
    root: Path = Path("/var/lib/kappa-codestore")
    url: str = ""
    max_bytes: int = LAMBDA_ZIP_MAX_BYTES
    max_uploads: int = 4
    auth: bool = True
    token_audiences: tuple[str, ...] = ("kappa",)
    uploaders: frozenset[str] = frozenset()
    s3_bucket: str = ""
    s3_prefix: str = ""
    s3_endpoint: str = ""
    s3_region: str = ""
    gc_interval_seconds: float = 300.0
    gc_grace_seconds: float = 3600.0
    log_level: str = "INFO"
    log_format: str = "text"

    @property
    def base_url(self) -> str:
        """The URL capability URLs start with."""
        return self.url or f"http://127.0.0.1:{self.port}"


def load(env: Mapping[str, str] | None = None) -> CodeStoreSettings:
    """The settings from ``env`` (the process environment by default).

    SettingsError naming every bad variable.
    """
    read = EnvReader(os.environ if env is None else env)
    url = read.string("KAPPA_CODESTORE_URL", "")
    if url and (not url.startswith(_URL_PREFIXES) or any(c.isspace() for c in url)):
        read.problem(f"KAPPA_CODESTORE_URL={url!r} is not an http:// or https:// URL")
    auth = read.choice("KAPPA_CODESTORE_AUTH", "kubernetes", ("kubernetes", "none"))
    uploaders = frozenset(
        u.strip() for u in read.string("KAPPA_CODESTORE_UPLOADERS", "").split(",") if u.strip()
    )
    if auth == "kubernetes" and not uploaders:
        read.problem(
            "KAPPA_CODESTORE_UPLOADERS is empty: name who may upload (the gateway's "
            "ServiceAccount, system:serviceaccount:NAMESPACE:NAME), or set "
            "KAPPA_CODESTORE_AUTH=none"
        )
    audiences = read.string("KAPPA_CODESTORE_TOKEN_AUDIENCES", "kappa")
    bucket = read.string("KAPPA_CODESTORE_S3_BUCKET", "")
    if bucket and not _BUCKET_PATTERN.fullmatch(bucket):
        read.problem(f"KAPPA_CODESTORE_S3_BUCKET={bucket!r} is not a bucket name")
    endpoint = read.string("KAPPA_CODESTORE_S3_ENDPOINT", "")
    if endpoint and (not endpoint.startswith(_URL_PREFIXES) or any(c.isspace() for c in endpoint)):
        read.problem(f"KAPPA_CODESTORE_S3_ENDPOINT={endpoint!r} is not an http:// or https:// URL")
    prefix = read.string("KAPPA_CODESTORE_S3_PREFIX", "")
    if len(prefix) > _MAX_PREFIX or any(not c.isprintable() for c in prefix):
        read.problem(f"KAPPA_CODESTORE_S3_PREFIX={prefix[:40]!r} is not a usable key prefix")
    settings = CodeStoreSettings(
        host=read.string("KAPPA_CODESTORE_HOST", _DEFAULT_HOST),
        port=read.integer("KAPPA_CODESTORE_PORT", 8080, lo=0, hi=_MAX_PORT),
        root=Path(read.string("KAPPA_CODESTORE_ROOT", "/var/lib/kappa-codestore")),
        url=url.rstrip("/"),
        max_bytes=read.integer(
            "KAPPA_CODESTORE_MAX_BYTES", LAMBDA_ZIP_MAX_BYTES, lo=1, hi=LAMBDA_ZIP_MAX_BYTES
        ),
        max_uploads=read.integer("KAPPA_CODESTORE_MAX_UPLOADS", 4, lo=1, hi=_MAX_UPLOADS),
        auth=auth == "kubernetes",
        token_audiences=tuple(a.strip() for a in audiences.split(",") if a.strip()),
        uploaders=uploaders,
        s3_bucket=bucket,
        s3_prefix=prefix,
        s3_endpoint=endpoint,
        s3_region=read.string("KAPPA_CODESTORE_S3_REGION", ""),
        gc_interval_seconds=read.number(
            "KAPPA_CODESTORE_GC_INTERVAL_SECONDS", 300.0, lo=0.0, hi=_DAY
        ),
        gc_grace_seconds=read.number("KAPPA_CODESTORE_GC_GRACE_SECONDS", 3600.0, lo=0.0, hi=_DAY),
        log_level=read.choice("KAPPA_LOG_LEVEL", "INFO", LOG_LEVELS, upper=True),
        log_format=read.choice("KAPPA_LOG_FORMAT", "text", LOG_FORMATS),
    )
    read.done()
    return settings


__all__ = ["CodeStoreSettings", "SettingsError", "load"]
