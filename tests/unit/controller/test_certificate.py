import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509

from kappa.controller.certificate import RENEW_BEFORE, VALIDITY, fits, self_signed, service_names

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def test_names_the_service_as_the_api_server_calls_it() -> None:
    assert service_names("kappa-operator", "kappa-system") == (
        "kappa-operator.kappa-system.svc",
        "kappa-operator.kappa-system.svc.cluster.local",
    )


def test_self_signed_certificate_for_the_names(tmp_path: Path) -> None:
    names = service_names("kappa-operator", "kappa-system")
    made = self_signed(names, NOW)
    cert = x509.load_pem_x509_certificate(made.cert_pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == list(names)
    assert cert.issuer == cert.subject
    assert cert.not_valid_before_utc < NOW < cert.not_valid_after_utc
    assert cert.not_valid_after_utc - NOW == VALIDITY
    # A TLS server loads it, and a client trusting it as the CA verifies the names.
    (tmp_path / "tls.crt").write_bytes(made.cert_pem)
    (tmp_path / "tls.key").write_bytes(made.key_pem)
    ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
        tmp_path / "tls.crt", tmp_path / "tls.key"
    )
    client = ssl.create_default_context(cadata=made.cert_pem.decode())
    assert client.verify_mode is ssl.CERT_REQUIRED


def test_every_certificate_has_its_own_key() -> None:
    names = ("a.b.svc",)
    assert self_signed(names, NOW).key_pem != self_signed(names, NOW).key_pem


def test_a_kept_certificate_fits_while_it_names_the_service_and_has_time_left() -> None:
    names = service_names("kappa-operator-webhook", "kappa-system")
    made = self_signed(names, NOW)
    assert fits(made.cert_pem, made.key_pem, names, NOW)
    # One of the names is enough to ask for; the kept one names both.
    assert fits(made.cert_pem, made.key_pem, names[:1], NOW)
    # A renamed Service (another release): made again.
    assert not fits(made.cert_pem, made.key_pem, service_names("other", "kappa-system"), NOW)
    # Renewed a month before it runs out, not after.
    end = NOW + VALIDITY
    assert fits(made.cert_pem, made.key_pem, names, end - RENEW_BEFORE - timedelta(days=1))
    assert not fits(made.cert_pem, made.key_pem, names, end - RENEW_BEFORE + timedelta(days=1))
    # Not yet valid (a clock far behind the maker's): made again rather than refused.
    assert not fits(made.cert_pem, made.key_pem, names, NOW - timedelta(days=1))


def test_a_kept_certificate_with_another_key_or_garbage_does_not_fit() -> None:
    names = ("a.b.svc",)
    one, other = self_signed(names, NOW), self_signed(names, NOW)
    assert not fits(one.cert_pem, other.key_pem, names, NOW)
    assert not fits(b"", one.key_pem, names, NOW)
    assert not fits(one.cert_pem, b"", names, NOW)
    assert not fits(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
                    one.key_pem, names, NOW)  # fmt: skip
    assert not fits(one.key_pem, one.cert_pem, names, NOW)  # the two swapped
