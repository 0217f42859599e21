import argparse

import pytest

from kappa.asyncq import dlq_client
from kappa.cli.main import _build_parser


def parse(*argv: str) -> argparse.Namespace:
    return _build_parser().parse_args(["dlq", *argv])


@pytest.mark.parametrize(
    ("argv", "body"),
    [
        pytest.param(("redrive", "3", "5"), {"sequences": [3, 5]}, id="sequences"),
        pytest.param(("redrive", "--function", "job"), {"function": "job"}, id="function"),
        pytest.param(("redrive", "--all"), {"all": True}, id="all"),
    ],
)
def test_redrive_says_what(argv: tuple[str, ...], body: dict[str, object]) -> None:
    assert dlq_client.redrive_body(parse(*argv)) == body


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(("redrive",), id="nothing"),
        pytest.param(("redrive", "1", "--all"), id="two-choices"),
    ],
)
def test_redrive_wants_exactly_one_choice(argv: tuple[str, ...]) -> None:
    with pytest.raises(dlq_client.DlqClientError, match="say what to redrive"):
        dlq_client.redrive_body(parse(*argv))
