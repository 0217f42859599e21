import nats
import pytest
from nats.js.errors import APIError, BucketNotFoundError, NoStreamResponseError, NotFoundError

from kappa.asyncq.health import CONSUMER_NOT_FOUND, STREAM_NOT_FOUND, Health, describe, setup_gone


@pytest.mark.parametrize(
    "error",
    [
        NoStreamResponseError(),
        BucketNotFoundError(),
        NotFoundError(code=404, err_code=STREAM_NOT_FOUND, description="stream not found"),
        NotFoundError(code=404, err_code=CONSUMER_NOT_FOUND, description="consumer not found"),
    ],
)
def test_errors_that_mean_the_setup_is_gone(error: Exception) -> None:
    assert setup_gone(error)


@pytest.mark.parametrize(
    "error",
    [
        nats.errors.TimeoutError(),
        nats.errors.ConnectionClosedError(),
        APIError(code=503, err_code=10039, description="jetstream not enabled for account"),
        NotFoundError(code=404, err_code=10037, description="no message found"),
        ValueError("unrelated"),
    ],
)
def test_errors_that_setting_up_again_would_not_cure(error: Exception) -> None:
    assert not setup_gone(error)


def test_describe_names_the_error_without_the_clients_prefix() -> None:
    assert describe(NoStreamResponseError()) == "NoStreamResponseError: no response from stream"
    assert describe(nats.errors.TimeoutError()) == "TimeoutError: timeout"


def test_health_starts_unusable_and_reports_each_transition_once() -> None:
    health = Health()
    assert not health.usable
    assert health.cause == "not connected to NATS yet"
    assert health.up()
    assert health.usable
    assert not health.up()
    assert health.down("NATS connection lost")
    assert not health.down("JetStream setup missing")
    assert health.cause == "JetStream setup missing"
    assert health.up()
    assert health.cause is None
