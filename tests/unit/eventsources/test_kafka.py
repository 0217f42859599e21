import pytest

from kappa.api.event_source_mapping import (
    KafkaSasl,
    KafkaSource,
    SaslMechanism,
    SecretKeyRef,
    SecretValue,
)
from kappa.eventsources.kafka import _client_options
from kappa.eventsources.source import SourceConfig, SourceCredentialsError

REF = SecretValue(secret_key_ref=SecretKeyRef(name="s", key="k"))
SASL = KafkaSasl(mechanism=SaslMechanism.SCRAM_SHA_512, username=REF, password=REF)


def _config(block: KafkaSource, credentials: dict[str, str]) -> SourceConfig:
    return SourceConfig(
        block=block, namespace="ns", mapping_name="m", consumer_name="pod-1", group="g",
        batch_size=10, region="us-east-1", credentials=credentials,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("tls", "sasl", "protocol"),
    [
        pytest.param(False, None, None, id="plaintext"),
        pytest.param(True, None, "SSL", id="tls"),
        pytest.param(False, SASL, "SASL_PLAINTEXT", id="sasl"),
        pytest.param(True, SASL, "SASL_SSL", id="sasl-over-tls"),
    ],
)
def test_security_protocol(tls: bool, sasl: KafkaSasl | None, protocol: str | None) -> None:  # noqa: FBT001
    block = KafkaSource(bootstrap_servers=("b:9092",), topic="t", tls=tls, sasl=sasl)
    options = _client_options(block, _config(block, {"username": "u", "password": "p"}))
    assert options.get("security_protocol") == protocol
    assert ("ssl_context" in options) is tls
    assert options["client_id"] == "pod-1"
    if sasl is not None:
        assert options["sasl_mechanism"] == "SCRAM-SHA-512"
        assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("u", "p")


def test_sasl_without_credentials_names_the_secrets() -> None:
    block = KafkaSource(bootstrap_servers=("b:9092",), topic="t", sasl=SASL)
    with pytest.raises(SourceCredentialsError, match="check the Secrets"):
        _client_options(block, _config(block, {"username": "u"}))
