"""The collector's URL, as ``OTEL_EXPORTER_OTLP_ENDPOINT`` names it (pure).

The setting is the collector's base URL; spans go to ``<endpoint>/v1/traces``. Checked
once, when a process reads its settings: an http(s) URL with a host, without
credentials, query or fragment, at most 2048 characters.
"""

from dataclasses import dataclass
from typing import Final

TRACES_PATH: Final = "/v1/traces"
MAX_ENDPOINT: Final = 2048
_SCHEMES: Final = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where spans are posted: ``http(s)://host:port/path``."""

    scheme: str
    host: str
    port: int
    path: str

    @property
    def tls(self) -> bool:
        """Whether the connection is HTTPS."""
        return self.scheme == "https"


def parse_endpoint(value: str) -> Endpoint:
    """The collector's URL from its base (``http://otel-collector:4318``); ValueError if bad."""
    if len(value) > MAX_ENDPOINT:
        raise ValueError(f"is longer than {MAX_ENDPOINT} characters")
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in _SCHEMES:
        raise ValueError("is not an http:// or https:// URL")
    authority, slash, path = rest.partition("/")
    if "@" in authority or "?" in rest or "#" in rest:
        raise ValueError("must not hold credentials, a query or a fragment")
    host, port = authority, _SCHEMES[scheme]
    if authority.startswith("["):  # [::1]:4318
        host, bracket, after = authority[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise ValueError("has a malformed IPv6 address")
        port_text = after[1:] if after else None
    else:
        host, colon, port_text_or_empty = authority.partition(":")
        port_text = port_text_or_empty if colon else None
    if not host or any(c.isspace() for c in host):
        raise ValueError("names no host")
    if port_text is not None:
        if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:  # noqa: PLR2004
            raise ValueError("has a port that is not 1-65535")
        port = int(port_text)
    base = ("/" + path if slash else "").rstrip("/")
    return Endpoint(scheme, host, port, base + TRACES_PATH)
