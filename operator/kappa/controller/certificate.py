"""A self-signed TLS certificate for the operator's admission webhook.

The API server calls the webhook over HTTPS and trusts exactly the
certificate given as the webhook configuration's ``caBundle``, so a
self-signed one made at start-up is enough: it names the webhook's Service
(``<service>.<namespace>.svc``, the name the API server checks) and lives as long
as the process: a new one, and a new ``caBundle``, at every start (the operator
keeps it in a memory-backed volume).

Pure: the names and ``now`` in, PEM bytes out.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY: Final = timedelta(days=3650)
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
