"""A pool pod's ``POST /specialise``: who may send it, and what it may say. Pure.

A pool pod starts its agent with no Function (``KAPPA_POOL_TOKEN`` set): it waits for
the operator to claim it and send, once, the Function's settings as the environment
variables the operator would have put on the container (``env``), and its code as a
zip (``zip``, base64, with its ``sha256``) unless the variables name a code URL. The
agent then starts as any other pod's, with the pool pod's own variables under the
Function's.

The caller proves it is the operator with the pool pod's token (``Authorization:
Bearer``), of which the pod's environment holds only the SHA-256
(``KAPPA_POOL_TOKEN_SHA256``; the operator derives the token from a key of its own, so
reading the pod does not give it). Pods made before that hold the token itself
(``KAPPA_POOL_TOKEN``), still taken. No runtime sees either (``KAPPA_`` variables never
reach runtimes). Everything in the body is
bounded and checked before it is held: at most ``MAX_BODY_BYTES``, at most
``MAX_VARIABLES`` variables of POSIX names, a zip of at most ``MAX_ZIP_BYTES`` whose
sha256 matches.
"""

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

POOL_TOKEN: Final = "KAPPA_POOL_TOKEN"  # noqa: S105 - the name of the variable
POOL_DIGEST: Final = "KAPPA_POOL_TOKEN_SHA256"
POOL_VARIABLES: Final = (POOL_TOKEN, POOL_DIGEST)
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


def pool_digest(env: Mapping[str, str]) -> bytes | None:
    """The SHA-256 of the pool pod's token (None: not a pool pod).

    From ``KAPPA_POOL_TOKEN_SHA256`` (64 hex digits), or from the token itself in an
    older pod's ``KAPPA_POOL_TOKEN`` (too short a token is no token).
    """
    with contextlib.suppress(ValueError):
        digest = bytes.fromhex(env.get(POOL_DIGEST, ""))
        if len(digest) == hashlib.sha256().digest_size:
            return digest
    token = env.get(POOL_TOKEN, "")
    return hashlib.sha256(token.encode()).digest() if len(token) >= _TOKEN_MIN else None


def authorised(header: str | None, digest: bytes) -> bool:
    """Whether ``Authorization`` carries the token of ``digest`` (compared in constant time)."""
    if header is None or not header.startswith("Bearer "):
        return False
    presented = hashlib.sha256(header.removeprefix("Bearer ").encode()).digest()
    return hmac.compare_digest(presented, digest)


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
    for name in POOL_VARIABLES:
        if name in variables:
            raise SpecialiseError(400, f"{name} is the pool's, not the Function's")
    env = {k: v for k, v in pod_env.items() if k not in POOL_VARIABLES}
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
