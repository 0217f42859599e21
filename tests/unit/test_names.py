import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.api import names
from kappa.api.names import function_labels

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def test_api_constants() -> None:
    assert names.GROUP == "kappa.dev"
    assert names.VERSION == "v1alpha1"
    assert names.API_VERSION == "kappa.dev/v1alpha1"
    assert names.FUNCTION_LABEL == "kappa.dev/function"
    assert names.COMPONENT_LABEL == "kappa.dev/component"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("a", id="one-letter"),
        pytest.param("0", id="one-digit"),
        pytest.param("hello", id="word"),
        pytest.param("hello-world-2", id="dashes-and-digits"),
        pytest.param("9lives", id="leading-digit"),
        pytest.param("a--b", id="double-dash-inside"),
        pytest.param("x" * 63, id="63-characters"),
    ],
)
def test_valid_name_gets_both_labels(name: str) -> None:
    assert function_labels(name) == {
        "kappa.dev/function": name,
        "kappa.dev/component": "function",
    }


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        pytest.param("", "it is empty", id="empty"),
        pytest.param("x" * 64, "64 characters long, the maximum is 63", id="64-characters"),
        pytest.param("Hello", "'H'; only lowercase letters", id="uppercase"),
        pytest.param("Hello", "(use lowercase)", id="uppercase-hint"),
        pytest.param("my_fn", "'_'", id="underscore"),
        pytest.param("my.fn", "'.'", id="dot"),
        pytest.param("my fn", "' '", id="space"),
        pytest.param("fn\u00e9", "'\u00e9'", id="non-ascii"),
        pytest.param("-fn", "must start and end with", id="leading-dash"),
        pytest.param("fn-", "must start and end with", id="trailing-dash"),
        pytest.param("-", "must start and end with", id="only-dash"),
    ],
)
def test_invalid_name_is_refused_with_the_reason(name: str, reason: str) -> None:
    with pytest.raises(ValueError, match="is not a valid DNS-1123 label") as excinfo:
        function_labels(name)
    assert reason in str(excinfo.value)


def test_every_offending_character_is_named_once() -> None:
    with pytest.raises(ValueError, match=r"it contains '\.', '_';"):
        function_labels("a_b.c_d")


def test_each_call_returns_a_fresh_dict() -> None:
    first = function_labels("fn")
    first["extra"] = "1"
    assert function_labels("fn") == {"kappa.dev/function": "fn", "kappa.dev/component": "function"}


@given(st.from_regex(DNS1123_LABEL, fullmatch=True))
def test_every_dns1123_label_is_accepted(name: str) -> None:
    assert function_labels(name)["kappa.dev/function"] == name


@given(st.text(max_size=80))
def test_accepts_exactly_the_dns1123_labels(name: str) -> None:
    if DNS1123_LABEL.fullmatch(name):
        assert function_labels(name)["kappa.dev/function"] == name
    else:
        with pytest.raises(ValueError, match="is not a valid DNS-1123 label: it "):
            function_labels(name)
