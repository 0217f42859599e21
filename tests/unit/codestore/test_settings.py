from pathlib import Path

import pytest

from kappa.base.env import SettingsError
from kappa.codestore.settings import LAMBDA_ZIP_MAX_BYTES, load

GATEWAY = "system:serviceaccount:kappa-system:kappa-gateway"


def test_defaults_take_lambdas_limit_and_need_an_uploader() -> None:
    settings = load({"KAPPA_CODESTORE_UPLOADERS": GATEWAY})
    assert settings.max_bytes == LAMBDA_ZIP_MAX_BYTES == 52_428_800
    assert settings.uploaders == {GATEWAY}
    assert settings.auth
    assert settings.root == Path("/var/lib/kappa-codestore")
    assert settings.base_url == "http://127.0.0.1:8080"


def test_the_url_and_the_uploaders_are_read() -> None:
    settings = load({
        "KAPPA_CODESTORE_URL": "http://10.96.0.20:8080/",
        "KAPPA_CODESTORE_UPLOADERS": f"{GATEWAY}, system:serviceaccount:x:y",
        "KAPPA_CODESTORE_GC_GRACE_SECONDS": "60",
    })  # fmt: skip
    assert settings.base_url == "http://10.96.0.20:8080"
    assert settings.uploaders == {GATEWAY, "system:serviceaccount:x:y"}
    assert settings.gc_grace_seconds == 60.0


@pytest.mark.parametrize(
    ("env", "named"),
    [
        pytest.param({}, "KAPPA_CODESTORE_UPLOADERS", id="no-uploaders"),
        pytest.param({"KAPPA_CODESTORE_URL": "ftp://x"}, "KAPPA_CODESTORE_URL", id="bad-url"),
        pytest.param({"KAPPA_CODESTORE_MAX_BYTES": str(LAMBDA_ZIP_MAX_BYTES + 1)},
                     "KAPPA_CODESTORE_MAX_BYTES", id="past-lambdas-limit"),
        pytest.param({"KAPPA_CODESTORE_AUTH": "maybe"}, "KAPPA_CODESTORE_AUTH", id="bad-auth"),
    ],
)  # fmt: skip
def test_bad_settings_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load(
            {"KAPPA_CODESTORE_UPLOADERS": GATEWAY, **env}
            if named != "KAPPA_CODESTORE_UPLOADERS"
            else env
        )


def test_auth_none_needs_no_uploader() -> None:
    assert not load({"KAPPA_CODESTORE_AUTH": "none"}).auth


def test_a_bucket_is_read_with_its_endpoint_and_prefix() -> None:
    settings = load({
        "KAPPA_CODESTORE_UPLOADERS": GATEWAY, "KAPPA_CODESTORE_S3_BUCKET": "kappa-packages",
        "KAPPA_CODESTORE_S3_ENDPOINT": "http://minio.storage:9000",
        "KAPPA_CODESTORE_S3_PREFIX": "prod/", "KAPPA_CODESTORE_S3_REGION": "eu-west-1",
    })  # fmt: skip
    assert (settings.s3_bucket, settings.s3_endpoint) == (
        "kappa-packages",
        "http://minio.storage:9000",
    )
    assert (settings.s3_prefix, settings.s3_region) == ("prod/", "eu-west-1")
    assert load({"KAPPA_CODESTORE_UPLOADERS": GATEWAY}).s3_bucket == ""  # the volume


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KAPPA_CODESTORE_S3_BUCKET", "Bad_Bucket"),
        ("KAPPA_CODESTORE_S3_BUCKET", "a"),
        ("KAPPA_CODESTORE_S3_ENDPOINT", "minio:9000"),
        ("KAPPA_CODESTORE_S3_PREFIX", "x" * 600),
        ("KAPPA_CODESTORE_S3_PREFIX", "a\nb"),
    ],
)
def test_a_bad_bucket_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load({"KAPPA_CODESTORE_UPLOADERS": GATEWAY, name: value})
