"""A pool pod's ``POST /specialise``: who may send it, and what it may say. Pure.

A pool pod starts its agent with no Function (``KAPPA_POOL_TOKEN`` set): it waits for
the operator to claim it and send, once, the Function's settings as the environment
variables the operator would have put on the container (``env``), and its code as a
zip (``zip``, base64, with its ``sha256``) unless the variables name a code URL. The
agent then starts as any other pod's, with the pool pod's own variables under the
Function's.

The caller proves it is the operator with the pool pod's token (``Authorization:
Bearer``), a random value the operator put in the pod's environment and that no
runtime sees (``KAPPA_`` variables never reach runtimes). Everything in the body is
bounded and checked before it is held: at most ``MAX_BODY_BYTES``, at most
``MAX_VARIABLES`` variables of POSIX names, a zip of at most ``MAX_ZIP_BYTES`` whose
sha256 matches.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

POOL_TOKEN: Final = "KAPPA_POOL_TOKEN"  # noqa: S105 - the name of the variable
MAX_ZIP_BYTES: Final = 1024 * 1024  # inline and ConfigMap code: a ConfigMap's size
MAX_BODY_BYTES: Final = MAX_ZIP_BYTES * 4 // 3 + 256 * 1024
MAX_VARIABLES: Final = 1000
MAX_VALUE_BYTES: Final = 128 * 1024
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
_TOKEN_MIN: Final = 32


class SpecialiseError(ValueError):
    """A refused ``/specialise``: ``status`` (401, 400) and what to fix."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Specialisation:
    """What a valid ``/specialise`` asks for."""

    env: dict[str, str]
    """The agent's environment from now on: the pod's, then the Function's over it."""
    zip: bytes | None
    sha256: bytes | None


def pool_token(env: Mapping[str, str]) -> str | None:
    """The pool pod's token (None: not a pool pod); too short a token is no token."""
    token = env.get(POOL_TOKEN, "")
    return token if len(token) >= _TOKEN_MIN else None


def authorised(header: str | None, token: str) -> bool:
    """Whether ``Authorization`` carries the pod's token (compared in constant time)."""
    if header is None or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header.removeprefix("Bearer ").encode(), token.encode())


def specialisation(pod_env: Mapping[str, str], body: bytes) -> Specialisation:
    """The request's settings, merged over the pod's; SpecialiseError (400) when not valid."""
    if len(body) > MAX_BODY_BYTES:
        raise SpecialiseError(400, f"the body is over {MAX_BODY_BYTES} bytes")
    try:
        found = json.loads(body)
    except ValueError as exc:
        raise SpecialiseError(400, f"the body is not JSON: {exc}") from None
    if not isinstance(found, dict) or not isinstance(found.get("env"), dict):
        raise SpecialiseError(400, 'the body must be {"env": {...}, "zip"?, "sha256"?}')
    variables = found["env"]
    if len(variables) > MAX_VARIABLES:
        raise SpecialiseError(400, f"more than {MAX_VARIABLES} variables")
    for name, value in variables.items():
        if not _NAME.fullmatch(name) or not isinstance(value, str):
            raise SpecialiseError(400, f"variable {name[:64]!r} is not NAME=string")
        if len(value.encode()) > MAX_VALUE_BYTES:
            raise SpecialiseError(400, f"variable {name} is over {MAX_VALUE_BYTES} bytes")
    if POOL_TOKEN in variables:
        raise SpecialiseError(400, f"{POOL_TOKEN} is the pool's, not the Function's")
    env = {k: v for k, v in pod_env.items() if k != POOL_TOKEN}
    env.update(variables)
    zipped, digest = _code(found)
    return Specialisation(env, zipped, digest)


def _code(found: Mapping[str, object]) -> tuple[bytes | None, bytes | None]:
    encoded, hexdigest = found.get("zip"), found.get("sha256")
    if encoded is None and hexdigest is None:
        return None, None
    if not isinstance(encoded, str) or not isinstance(hexdigest, str):
        raise SpecialiseError(400, "zip (base64) and sha256 (hex) go together")
    try:
        zipped = base64.b64decode(encoded, validate=True)
        digest = bytes.fromhex(hexdigest)
    except (binascii.Error, ValueError):
        raise SpecialiseError(400, "zip must be base64 and sha256 64 hex digits") from None
    if len(zipped) > MAX_ZIP_BYTES:
        raise SpecialiseError(400, f"the zip is over {MAX_ZIP_BYTES} bytes")
    if not hmac.compare_digest(hashlib.sha256(zipped).digest(), digest):
        raise SpecialiseError(400, "the zip's sha256 is not the one given")
    return zipped, digest
