"""Checkpoint tokens and callback ids: minted, then verified by their mac (pure).

Both are standard base64 (the model's ``[A-Za-z0-9+/]+={0,2}``) of a small binary
record followed by an HMAC-SHA256 of it, truncated to 16 bytes, under the durable key::

    CheckpointToken = 01 | invocation id (16 B) | sequence (u64, big-endian) | mac
                      mac over the record and the execution's ARN
    CallbackId      = 01 | namespace | function | execution name | operation id | mac
                      each part one length byte and its ASCII characters

A checkpoint token names one invocation of one execution and the sequence of the
checkpoint it may make; the caller compares them with the execution's current ones (the
sequence moves by one per accepted checkpoint). A callback id names the operation it
completes, so the execution is found from the id alone, and ids cannot be guessed.

Verification takes :class:`DurableKeys` (current, and the previous one while a rotation
is under way) and reads no clock: a token dies when its invocation or sequence is no
longer the current one, not by age. Lengths are checked before anything is decoded.
Every failure is one :class:`InvalidTokenError`; for checkpoint tokens its message is
exactly ``Invalid checkpoint token``, the prefix on which the SDK retries the invocation
instead of failing the execution.
"""

import base64
import binascii
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass, field
from typing import Final
from uuid import UUID

from kappa.api.names import validate_dns1123_label
from kappa.durable.arns import EXECUTION_NAME
from kappa.durable.fields import FieldError
from kappa.durable.model import OPERATION_ID

INVALID_CHECKPOINT_TOKEN: Final = "Invalid checkpoint token"  # noqa: S105 - a message
INVALID_CALLBACK_ID: Final = "Invalid callback id"
KEY_MIN_BYTES: Final = 32
MAC_BYTES: Final = 16
VERSION: Final = 1

_BASE64: Final = re.compile(r"[A-Za-z0-9+/]+={0,2}")
# Domain separation: a callback id's mac can never pass as a checkpoint token's.
_CHECKPOINT_CONTEXT: Final = b"kappa-durable-checkpoint-token\x00"
_CALLBACK_CONTEXT: Final = b"kappa-durable-callback-id\x00"
_CHECKPOINT_RECORD: Final = struct.Struct(">B16sQ")
_CHECKPOINT_BYTES: Final = _CHECKPOINT_RECORD.size + MAC_BYTES
# 4 * (base64 of 41 bytes rounded up to whole groups of 3) = 56 characters, always.
CHECKPOINT_TOKEN_LENGTH: Final = 4 * -(-_CHECKPOINT_BYTES // 3)
# Version, four parts of at most 64 characters with their length bytes, mac.
_CALLBACK_MAX_BYTES: Final = 1 + 4 * (1 + 64) + MAC_BYTES
CALLBACK_ID_MAX_LENGTH: Final = 4 * -(-_CALLBACK_MAX_BYTES // 3)
SEQUENCE_MAX: Final = 2**64 - 1


class InvalidTokenError(ValueError):
    """A checkpoint token or callback id that was not minted here, or was altered."""


@dataclass(frozen=True, slots=True)
class DurableKeys:
    """The keys tokens are minted under (``current``) and accepted under (both)."""

    current: bytes = field(repr=False)
    previous: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for key in self.accepted:
            if len(key) < KEY_MIN_BYTES:
                raise ValueError(f"A durable key must be at least {KEY_MIN_BYTES} bytes long.")

    @property
    def accepted(self) -> tuple[bytes, ...]:
        """The keys a mac may be made with: the current one, then the previous one."""
        return (self.current,) if self.previous is None else (self.current, self.previous)


def _mac(key: bytes, context: bytes, record: bytes, bound: bytes = b"") -> bytes:
    return hmac.new(key, context + record + bound, hashlib.sha256).digest()[:MAC_BYTES]


def _decode(value: object, max_length: int, message: str) -> bytes:
    """The bytes ``value`` encodes, its length and alphabet checked before decoding."""
    if not isinstance(value, str) or not 1 <= len(value) <= max_length:
        raise InvalidTokenError(message)
    if not _BASE64.fullmatch(value):
        raise InvalidTokenError(message)
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise InvalidTokenError(message) from None
    if base64.b64encode(raw).decode("ascii") != value:  # only the one canonical spelling
        raise InvalidTokenError(message)
    return raw


def _verified(keys: DurableKeys, raw: bytes, context: bytes, bound: bytes, message: str) -> bytes:
    """The record of ``raw`` (record | mac) when one of ``keys`` made its mac."""
    record, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if len(raw) <= MAC_BYTES or not any(
        hmac.compare_digest(mac, _mac(key, context, record, bound)) for key in keys.accepted
    ):
        raise InvalidTokenError(message)
    if record[0] != VERSION:
        raise InvalidTokenError(message)
    return record


@dataclass(frozen=True, slots=True)
class CheckpointClaim:
    """What a checkpoint token says: which invocation, at which checkpoint sequence."""

    invocation: UUID
    sequence: int


def checkpoint_token(keys: DurableKeys, arn: str, claim: CheckpointClaim) -> str:
    """The checkpoint token of ``claim`` for the execution ``arn``."""
    if not 0 <= claim.sequence <= SEQUENCE_MAX:
        raise ValueError(f"A checkpoint sequence is from 0 to {SEQUENCE_MAX}.")
    record = _CHECKPOINT_RECORD.pack(VERSION, claim.invocation.bytes, claim.sequence)
    mac = _mac(keys.current, _CHECKPOINT_CONTEXT, record, arn.encode())
    return base64.b64encode(record + mac).decode("ascii")


def verify_checkpoint_token(keys: DurableKeys, arn: str, token: object) -> CheckpointClaim:
    """The claim of ``token``, minted for ``arn`` under one of ``keys``."""
    if not isinstance(token, str) or len(token) != CHECKPOINT_TOKEN_LENGTH:
        raise InvalidTokenError(INVALID_CHECKPOINT_TOKEN)
    raw = _decode(token, CHECKPOINT_TOKEN_LENGTH, INVALID_CHECKPOINT_TOKEN)
    if len(raw) != _CHECKPOINT_BYTES:
        raise InvalidTokenError(INVALID_CHECKPOINT_TOKEN)
    record = _verified(keys, raw, _CHECKPOINT_CONTEXT, arn.encode(), INVALID_CHECKPOINT_TOKEN)
    _, invocation, sequence = _CHECKPOINT_RECORD.unpack(record)
    return CheckpointClaim(invocation=UUID(bytes=invocation), sequence=sequence)


@dataclass(frozen=True, slots=True)
class CallbackTarget:
    """The operation a callback id completes: the execution by its Function and name."""

    namespace: str
    function: str
    execution: str
    operation: str

    def __post_init__(self) -> None:
        validate_dns1123_label(self.namespace)
        validate_dns1123_label(self.function)
        try:
            EXECUTION_NAME.check(self.execution, "execution name")
            OPERATION_ID.check(self.operation, "operation id")
        except FieldError as exc:
            raise ValueError(str(exc)) from None


def callback_id(keys: DurableKeys, target: CallbackTarget) -> str:
    """The callback id of ``target``."""
    record = bytes([VERSION])
    for part in (target.namespace, target.function, target.execution, target.operation):
        encoded = part.encode("ascii")
        record += bytes([len(encoded)]) + encoded
    mac = _mac(keys.current, _CALLBACK_CONTEXT, record)
    return base64.b64encode(record + mac).decode("ascii")


def verify_callback_id(keys: DurableKeys, value: object) -> CallbackTarget:
    """The target of the callback id ``value``, minted under one of ``keys``."""
    raw = _decode(value, CALLBACK_ID_MAX_LENGTH, INVALID_CALLBACK_ID)
    record = _verified(keys, raw, _CALLBACK_CONTEXT, b"", INVALID_CALLBACK_ID)
    parts: list[str] = []
    at = 1
    while at < len(record):
        end = at + 1 + record[at]
        parts.append(record[at + 1 : end].decode("ascii", "replace"))
        at = end
    if at != len(record) or len(parts) != 4:  # noqa: PLR2004 - the four parts
        raise InvalidTokenError(INVALID_CALLBACK_ID)
    try:
        return CallbackTarget(*parts)
    except ValueError:
        raise InvalidTokenError(INVALID_CALLBACK_ID) from None
