"""The admission webhook's certificate, one for every replica, kept in a Secret (shell).

Every replica of the operator serves the webhook behind one Service, and the API server
trusts one ``caBundle``, so they must all present the same certificate. The first replica
to start makes it (``certificate.self_signed``) and keeps it in the Secret
``<webhook service>-tls`` (type ``kubernetes.io/tls``) of the operator's namespace; the
others, and every later start, read it. It is made again only when ``certificate.fits``
refuses the kept one (it does not name the Service, say after the release was renamed, or
it runs out within a month); the leader then writes the new ``caBundle`` into the webhook
configuration, and the other replicas pick the new certificate up at their next start.

Made here rather than by the chart: a chart's generated certificate changes at every
render, so a GitOps tool that renders the chart on every sync would keep replacing it.
"""

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final, Protocol

from kappa.controller.certificate import Certificate, fits, self_signed, service_names

CERT_FIELD: Final = "tls.crt"
KEY_FIELD: Final = "tls.key"
TLS_TYPE: Final = "kubernetes.io/tls"


class TlsObjects(Protocol):
    """The one API call the certificate takes."""

    async def kept_secret_data(
        self,
        namespace: str,
        name: str,
        make: Callable[[], Mapping[str, bytes]],
        *,
        keep: Callable[[Mapping[str, bytes]], bool],
        kind: str = "Opaque",
    ) -> dict[str, bytes]:
        """The Secret's data as kept, or as made (and kept) when ``keep`` refuses it."""
        ...


def secret_name(service: str) -> str:
    """The Secret that keeps the certificate of the webhook served behind ``service``."""
    return f"{service}-tls"


async def webhook_certificate(
    objects: TlsObjects, service: str, namespace: str, now: datetime
) -> Certificate:
    """The certificate every replica serves the webhook with (made if none fits)."""
    names = service_names(service, namespace)

    def make() -> Mapping[str, bytes]:
        made = self_signed(names, now)
        return {CERT_FIELD: made.cert_pem, KEY_FIELD: made.key_pem}

    def keep(found: Mapping[str, bytes]) -> bool:
        return fits(found.get(CERT_FIELD, b""), found.get(KEY_FIELD, b""), names, now)

    data = await objects.kept_secret_data(
        namespace, secret_name(service), make, keep=keep, kind=TLS_TYPE
    )
    return Certificate(cert_pem=data[CERT_FIELD], key_pem=data[KEY_FIELD])
