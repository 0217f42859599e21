from kappa.cli.log_lines import request_lines

LINES = [
    "START RequestId: aaa Version: $LATEST",
    "event: {}",
    "END RequestId: aaa",
    "REPORT RequestId: aaa\tDuration: 1.00 ms",
    "START RequestId: bbb Version: $LATEST",
    "event: {'b': 1}",
    "[ERROR] bbb failed",
    "END RequestId: bbb",
    "REPORT RequestId: bbb\tDuration: 2.00 ms",
    "a line of a later request naming bbb",
]


def test_the_span_of_one_request_and_lines_naming_it() -> None:
    assert list(request_lines(LINES, "bbb")) == LINES[4:]


def test_another_request_is_left_out() -> None:
    assert list(request_lines(LINES, "aaa")) == LINES[:4]


def test_an_unknown_request_has_no_lines() -> None:
    assert list(request_lines(LINES, "zzz")) == []
