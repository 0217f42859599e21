"""A self-signed TLS certificate for the operator's admission webhook.

The API server calls the webhook over HTTPS and trusts exactly the
certificate given as the webhook configuration's ``caBundle``, so a
self-signed one is enough: it names the webhook's Service
(``<service>.<namespace>.svc``, the name the API server checks). Every replica of the
operator serves the webhook, so they all present one certificate, kept in a Secret
(``controller/webhook_tls.py``): the first replica makes it, the others read it, and
one is made again only when ``fits`` says the kept one does not name the Service or
runs out within ``RENEW_BEFORE``.

Pure: the names and ``now`` in, PEM bytes out; PEM bytes, names and ``now`` in, a verdict out.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY: Final = timedelta(days=3650)
RENEW_BEFORE: Final = timedelta(days=30)
_CLOCK_SKEW: Final = timedelta(minutes=5)


@dataclass(frozen=True)
class Certificate:
    """A certificate and its private key, PEM-encoded."""

    cert_pem: bytes
    key_pem: bytes


def service_names(service: str, namespace: str) -> tuple[str, ...]:
    """The DNS names under which the API server may reach ``service`` in ``namespace``."""
    return (f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local")


def self_signed(names: tuple[str, ...], now: datetime) -> Certificate:
    """A self-signed server certificate for ``names`` (the first is the common name)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + VALIDITY)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Certificate(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def fits(cert_pem: bytes, key_pem: bytes, names: tuple[str, ...], now: datetime) -> bool:
    """Whether a kept certificate may still be served for ``names``.

    It must parse, name every one of ``names``, be valid at ``now`` and for another
    ``RENEW_BEFORE``, and its key must be the private half of its public key.
    """
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
        alternatives = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except (ValueError, TypeError, x509.ExtensionNotFound):
        return False
    named = set(alternatives.value.get_values_for_type(x509.DNSName))
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    return (
        set(names) <= named
        and cert.not_valid_before_utc <= now
        and now + RENEW_BEFORE < cert.not_valid_after_utc
        and key.public_key().public_bytes(serialization.Encoding.PEM, public)
        == cert.public_key().public_bytes(serialization.Encoding.PEM, public)
    )
