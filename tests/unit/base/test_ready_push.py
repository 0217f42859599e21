"""The readiness push's wire and variables (kappa.base.ready_push), both ends' one home."""

import pytest

from kappa.base.ready_push import (
    BODY_MAX_BYTES,
    MAX_ADDRESSES,
    ReadyPush,
    addresses,
    decode,
    encode,
)

pytestmark = pytest.mark.unit

PUSH = ReadyPush("team-a", "echo-b6c1ab-427785", "fafb9981-7e77-4bd4-9135-8179bd8e1d35")


def test_a_push_round_trips() -> None:
    assert decode(encode(PUSH)) == PUSH


@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param(b"x" * (BODY_MAX_BYTES + 1), "at most", id="too-large"),
        pytest.param(b"{not json", "JSON object", id="not-json"),
        pytest.param(b"\xff", "JSON object", id="not-utf8"),
        pytest.param(b"[1]", "exactly", id="not-an-object"),
        pytest.param(b'{"namespace":"a","pod":"b"}', "exactly", id="no-uid"),
        pytest.param(b'{"namespace":"a","pod":"b","uid":"u","ip":"1.2.3.4"}', "exactly",
                     id="an-address-of-its-choosing"),
        pytest.param(b'{"namespace":"A_B","pod":"b","uid":"fafb9981-7e77-4bd4-9135-8179bd8e1d35"}',
                     "namespace", id="bad-namespace"),
        pytest.param(b'{"namespace":"a","pod":"b/../c","uid":"fafb9981-7e77-4bd4-9135-8179bd8e1d35"}',
                     "pod", id="bad-pod"),
        pytest.param(b'{"namespace":"a","pod":"b","uid":"not-a-uid"}', "uid", id="bad-uid"),
        pytest.param(b'{"namespace":"a","pod":7,"uid":"fafb9981-7e77-4bd4-9135-8179bd8e1d35"}',
                     "pod", id="not-text"),
    ],
)  # fmt: skip
def test_a_malformed_push_is_refused_naming_what_is_wrong(body: bytes, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        decode(body)


def test_addresses_keep_the_well_formed_ones_bounded() -> None:
    value = "10.0.0.5:8000, [fd00::1]:8000,bad,10.0.0.6:0,10.0.0.7:99999,host.example:80"
    assert addresses(value) == ("10.0.0.5:8000", "[fd00::1]:8000")
    many = ",".join(f"10.0.0.{i}:8000" for i in range(40))
    assert len(addresses(many)) == MAX_ADDRESSES
    assert addresses("") == ()
