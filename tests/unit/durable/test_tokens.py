"""Checkpoint tokens and callback ids: minted, verified, and refused when forged."""

import base64
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.durable.tokens import (
    CALLBACK_ID_MAX_LENGTH,
    CHECKPOINT_TOKEN_LENGTH,
    CallbackTarget,
    CheckpointClaim,
    DurableKeys,
    InvalidTokenError,
    callback_id,
    checkpoint_token,
    verify_callback_id,
    verify_checkpoint_token,
)

OLD = b"o" * 32
NEW = b"n" * 32
KEYS = DurableKeys(current=NEW, previous=OLD)
ARN = "arn:aws:lambda:us-east-1:team:function:orders:$LATEST/durable-execution/order-7/id-1"
INVOCATION = UUID("3f2b1c4e-9a7d-4e21-8c55-0d6f1e2a3b4c")
CLAIM = CheckpointClaim(INVOCATION, 7)
TARGET = CallbackTarget("team", "orders", "order-7", "a" * 64)
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _flip(token: str, index: int) -> str:
    raw = bytearray(base64.b64decode(token))
    raw[index] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def _noncanonical(token: str) -> str:
    """The same bytes spelt otherwise: the last character before the padding has unused bits."""
    at = len(token.rstrip("=")) - 1
    assert at < len(token) - 1, "a token with padding"
    other = _ALPHABET[_ALPHABET.index(token[at]) ^ 1]
    assert base64.b64decode(token[:at] + other + token[at + 1 :]) == base64.b64decode(token)
    return token[:at] + other + token[at + 1 :]


@pytest.mark.parametrize(
    "claim",
    [
        pytest.param(CheckpointClaim(INVOCATION, 0), id="first"),
        pytest.param(CheckpointClaim(INVOCATION, 2**64 - 1), id="last-sequence"),
        pytest.param(CheckpointClaim(UUID(int=0), 1), id="zero-invocation"),
    ],
)
def test_a_checkpoint_token_round_trips(claim: CheckpointClaim) -> None:
    token = checkpoint_token(KEYS, ARN, claim)
    assert len(token) == CHECKPOINT_TOKEN_LENGTH
    assert verify_checkpoint_token(KEYS, ARN, token) == claim


def test_tokens_differ_by_sequence_and_by_execution() -> None:
    token = checkpoint_token(KEYS, ARN, CLAIM)
    assert token != checkpoint_token(KEYS, ARN, CheckpointClaim(INVOCATION, 8))
    assert token != checkpoint_token(KEYS, ARN + "x", CLAIM)


TOKEN = checkpoint_token(KEYS, ARN, CLAIM)


@pytest.mark.parametrize(
    ("keys", "arn", "token"),
    [
        pytest.param(KEYS, ARN, None, id="absent"),
        pytest.param(KEYS, ARN, 12, id="not-a-string"),
        pytest.param(KEYS, ARN, "", id="empty"),
        pytest.param(KEYS, ARN, TOKEN + "AAAA", id="longer"),
        pytest.param(KEYS, ARN, "A" * 2048, id="model-maximum"),
        pytest.param(KEYS, ARN, "A" * 100_000, id="huge"),
        pytest.param(KEYS, ARN, TOKEN[:-4], id="shorter"),
        pytest.param(KEYS, ARN, "!" + TOKEN[1:], id="alphabet"),
        pytest.param(KEYS, ARN, TOKEN.replace("+", "-").replace("/", "_")[:-1] + "-", id="urlsafe-alphabet"),
        pytest.param(KEYS, ARN, "=" * CHECKPOINT_TOKEN_LENGTH, id="only-padding"),
        pytest.param(KEYS, ARN, _noncanonical(TOKEN), id="non-canonical"),
        pytest.param(KEYS, ARN, _flip(TOKEN, 0), id="version-byte"),
        pytest.param(KEYS, ARN, _flip(TOKEN, 5), id="invocation-byte"),
        pytest.param(KEYS, ARN, _flip(TOKEN, 24), id="sequence-byte"),
        pytest.param(KEYS, ARN, _flip(TOKEN, 40), id="mac-byte"),
        pytest.param(KEYS, ARN.replace("id-1", "id-2"), TOKEN, id="other-execution"),
        pytest.param(DurableKeys(current=b"x" * 32), ARN, TOKEN, id="unknown-key"),
        pytest.param(KEYS, ARN, callback_id(KEYS, TARGET)[:CHECKPOINT_TOKEN_LENGTH], id="a-callback-id"),
    ],
)  # fmt: skip
def test_a_bad_checkpoint_token_is_the_one_error_the_sdk_retries(
    keys: DurableKeys, arn: str, token: object
) -> None:
    with pytest.raises(InvalidTokenError) as refused:
        verify_checkpoint_token(keys, arn, token)
    assert str(refused.value) == "Invalid checkpoint token"


def test_a_token_of_the_previous_key_holds_until_the_rotation_ends() -> None:
    old = checkpoint_token(DurableKeys(current=OLD), ARN, CLAIM)
    assert verify_checkpoint_token(DurableKeys(current=NEW, previous=OLD), ARN, old) == CLAIM
    with pytest.raises(InvalidTokenError):
        verify_checkpoint_token(DurableKeys(current=NEW), ARN, old)
    # New tokens are minted under the current key only.
    assert checkpoint_token(KEYS, ARN, CLAIM) == checkpoint_token(DurableKeys(NEW), ARN, CLAIM)


def test_a_token_is_standard_base64_as_the_model_wants() -> None:
    tokens = {checkpoint_token(KEYS, ARN, CheckpointClaim(UUID(int=n << 64), n)) for n in range(64)}
    assert all(t.strip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") == ""
               for t in tokens)  # fmt: skip


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        pytest.param({"current": b"k" * 31}, "at least 32 bytes", id="short-current"),
        pytest.param(
            {"current": b"k" * 32, "previous": b""}, "at least 32 bytes", id="empty-previous"
        ),
    ],
)
def test_short_keys_are_refused(keys: dict[str, bytes], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DurableKeys(**keys)


def test_a_sequence_outside_u64_is_refused() -> None:
    with pytest.raises(ValueError, match="from 0 to"):
        checkpoint_token(KEYS, ARN, CheckpointClaim(INVOCATION, 2**64))


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(TARGET, id="sdk-operation-id"),
        pytest.param(CallbackTarget("a" * 63, "b" * 63, "c" * 64, "d" * 64), id="longest"),
        pytest.param(CallbackTarget("n", "f", "E_x-1", "o"), id="shortest"),
    ],
)
def test_a_callback_id_round_trips(target: CallbackTarget) -> None:
    made = callback_id(KEYS, target)
    assert len(made) <= CALLBACK_ID_MAX_LENGTH <= 1024
    assert verify_callback_id(KEYS, made) == target
    assert verify_callback_id(DurableKeys(current=b"z" * 32, previous=NEW), made) == target


CALLBACK = callback_id(KEYS, TARGET)


@pytest.mark.parametrize(
    ("keys", "value"),
    [
        pytest.param(KEYS, None, id="absent"),
        pytest.param(KEYS, "", id="empty"),
        pytest.param(KEYS, "A" * (CALLBACK_ID_MAX_LENGTH + 4), id="over-the-longest-minted"),
        pytest.param(KEYS, "A" * 1_000_000, id="huge"),
        pytest.param(KEYS, CALLBACK + "=", id="bad-padding"),
        pytest.param(KEYS, CALLBACK.replace("/", "_").replace("+", "-") + "_", id="urlsafe"),
        pytest.param(KEYS, "AAAA", id="shorter-than-a-mac"),
        pytest.param(KEYS, _noncanonical(callback_id(KEYS, CallbackTarget("team", "orders", "o", "a" * 63))),
                     id="non-canonical"),
        pytest.param(KEYS, _flip(CALLBACK, 0), id="version-byte"),
        pytest.param(KEYS, _flip(CALLBACK, 3), id="namespace-byte"),
        pytest.param(KEYS, _flip(CALLBACK, -1), id="mac-byte"),
        pytest.param(DurableKeys(current=OLD), CALLBACK, id="unknown-key"),
        pytest.param(KEYS, TOKEN, id="a-checkpoint-token"),
    ],
)  # fmt: skip
def test_a_forged_callback_id_is_refused(keys: DurableKeys, value: object) -> None:
    with pytest.raises(InvalidTokenError, match=r"^Invalid callback id$"):
        verify_callback_id(keys, value)


@pytest.mark.parametrize(
    "parts",
    [
        pytest.param(("Team", "f", "e", "o"), id="namespace-capital"),
        pytest.param(("n", "f" * 64, "e", "o"), id="function-too-long"),
        pytest.param(("n", "f", "e/1", "o"), id="execution-slash"),
        pytest.param(("n", "f", "e", "o" * 65), id="operation-too-long"),
        pytest.param(("n", "f", "e", "ö"), id="operation-not-ascii"),
    ],
)
def test_a_callback_target_is_made_of_valid_names_only(parts: tuple[str, str, str, str]) -> None:
    with pytest.raises(ValueError, match=r"DNS-1123|must (be|match)"):
        CallbackTarget(*parts)


def test_keys_never_show_in_a_repr() -> None:
    assert "nnnn" not in repr(KEYS)
    assert "oooo" not in repr(KEYS)


_NAME = st.from_regex(r"[a-zA-Z0-9_-]{1,64}", fullmatch=True)
_LABEL = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True)


@given(
    invocation=st.uuids(),
    sequence=st.integers(0, 2**64 - 1),
    arn=st.text(max_size=200),
    flip=st.integers(0, 40 * 8 + 7),
)
def test_any_claim_round_trips_and_any_flipped_bit_is_refused(
    invocation: UUID, sequence: int, arn: str, flip: int
) -> None:
    claim = CheckpointClaim(invocation, sequence)
    token = checkpoint_token(KEYS, arn, claim)
    assert verify_checkpoint_token(KEYS, arn, token) == claim
    raw = bytearray(base64.b64decode(token))
    raw[flip // 8] ^= 1 << (flip % 8)
    with pytest.raises(InvalidTokenError, match=r"^Invalid checkpoint token$"):
        verify_checkpoint_token(KEYS, arn, base64.b64encode(bytes(raw)).decode())


@given(
    target=st.builds(CallbackTarget, _LABEL, _LABEL, _NAME, _NAME),
    flip=st.integers(0, 10_000),
)
def test_any_callback_target_round_trips_and_any_flipped_bit_is_refused(
    target: CallbackTarget, flip: int
) -> None:
    made = callback_id(KEYS, target)
    assert verify_callback_id(KEYS, made) == target
    raw = bytearray(base64.b64decode(made))
    at = flip % (len(raw) * 8)
    raw[at // 8] ^= 1 << (at % 8)
    with pytest.raises(InvalidTokenError, match=r"^Invalid callback id$"):
        verify_callback_id(KEYS, base64.b64encode(bytes(raw)).decode())
