"""The webhook's shared certificate: read from its Secret while it fits, made (and kept)
when there is none or the kept one does not fit.

``kept_secret_data`` is faked here with the semantics of ``Objects.kept_secret_data``
(keep what ``keep`` accepts, else store what ``make`` returns); the real one, against a
real API server, is exercised by the e2e tier (``e2e/test_operator_failover.py``: both
replicas serve the certificate of the Secret).
"""

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509

from kappa.controller.certificate import VALIDITY, self_signed, service_names
from kappa.controller.webhook_tls import TLS_TYPE, secret_name, webhook_certificate

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
NAMES = service_names("kappa-operator-webhook", "kappa-system")


@dataclass
class Secrets:
    kept: dict[tuple[str, str], tuple[str, dict[str, bytes]]] = field(default_factory=dict)
    made: int = 0

    async def kept_secret_data(
        self,
        namespace: str,
        name: str,
        make: Callable[[], Mapping[str, bytes]],
        *,
        keep: Callable[[Mapping[str, bytes]], bool],
        kind: str = "Opaque",
    ) -> dict[str, bytes]:
        found = self.kept.get((namespace, name))
        if found is not None and keep(found[1]):
            return dict(found[1])
        self.made += 1
        self.kept[namespace, name] = (kind, dict(make()))
        return dict(self.kept[namespace, name][1])


def certificate_of(secrets: Secrets, now: datetime = NOW) -> x509.Certificate:
    got = asyncio.run(webhook_certificate(secrets, "kappa-operator-webhook", "kappa-system", now))
    return x509.load_pem_x509_certificate(got.cert_pem)


def test_the_first_replica_makes_it_and_the_others_serve_the_same() -> None:
    secrets = Secrets()
    first = certificate_of(secrets)
    assert certificate_of(secrets) == first
    assert certificate_of(secrets, NOW + timedelta(days=300)) == first
    assert secrets.made == 1
    kind, data = secrets.kept["kappa-system", "kappa-operator-webhook-tls"]
    assert kind == TLS_TYPE == "kubernetes.io/tls"
    assert set(data) == {"tls.crt", "tls.key"}
    names = first.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == list(NAMES)


def test_one_that_runs_out_within_a_month_or_is_broken_is_made_again() -> None:
    secrets = Secrets()
    first = certificate_of(secrets)
    later = NOW + VALIDITY - timedelta(days=10)
    renewed = certificate_of(secrets, later)
    assert renewed != first
    assert renewed.not_valid_after_utc - later == VALIDITY
    secrets.kept["kappa-system", "kappa-operator-webhook-tls"][1]["tls.key"] = b"garbage"
    assert certificate_of(secrets, later) != renewed
    assert secrets.made == 3


def test_one_made_for_another_service_is_made_again() -> None:
    secrets = Secrets()
    other = self_signed(service_names("old-operator-webhook", "kappa-system"), NOW)
    secrets.kept["kappa-system", secret_name("kappa-operator-webhook")] = (
        TLS_TYPE,
        {"tls.crt": other.cert_pem, "tls.key": other.key_pem},
    )
    assert certificate_of(secrets) != x509.load_pem_x509_certificate(other.cert_pem)
    assert secrets.made == 1
