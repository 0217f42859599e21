"""The token a pod presents to the gateway: its ServiceAccount's, projected for audience kappa.

Poller pods always carry it (they invoke their mapping's Function); function pods carry it
when the Function names a ``serviceAccountName`` (a function that invokes others calls
as that account). The kubelet rotates the file; readers (``kappa.auth.credentials``)
read it on every call, found through ``KAPPA_TOKEN_FILE``.
"""

from typing import Any, Final

TOKEN_DIR: Final = "/var/run/secrets/kappa.dev/serviceaccount"  # noqa: S105 - a path
TOKEN_FILE: Final = f"{TOKEN_DIR}/token"
TOKEN_AUDIENCE: Final = "kappa"  # noqa: S105 - an audience name
TOKEN_SECONDS: Final = 3600
VOLUME: Final = "kappa-token"


def token_volume() -> dict[str, Any]:
    """The projected volume holding the token."""
    return {
        "name": VOLUME,
        "projected": {
            "sources": [
                {
                    "serviceAccountToken": {
                        "audience": TOKEN_AUDIENCE,
                        "expirationSeconds": TOKEN_SECONDS,
                        "path": "token",
                    }
                }
            ]
        },
    }


def token_mount() -> dict[str, Any]:
    """Where a container finds it."""
    return {"name": VOLUME, "mountPath": TOKEN_DIR, "readOnly": True}


def token_env() -> dict[str, Any]:
    """The variable that names the file."""
    return {"name": "KAPPA_TOKEN_FILE", "value": TOKEN_FILE}
