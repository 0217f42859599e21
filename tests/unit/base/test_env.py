import pytest

from kappa.base.env import EnvReader, SettingsError


def test_unset_and_empty_variables_take_their_defaults() -> None:
    read = EnvReader({"EMPTY": "  "})
    assert read.integer("UNSET", 7) == 7
    assert read.number("EMPTY", 1.5) == 1.5
    assert read.flag("UNSET", default=True) is True
    assert read.string("EMPTY", "d") == "d"
    assert read.optional("EMPTY") is None
    read.done()


def test_values_are_converted_and_stripped() -> None:
    read = EnvReader({"N": " 12 ", "F": "0.25", "B": "Off", "C": "info", "S": " x "})
    assert read.integer("N", 0, lo=0, hi=20) == 12
    assert read.number("F", 1.0, lo=0) == 0.25
    assert read.flag("B", default=True) is False
    assert read.choice("C", "WARNING", ("INFO", "WARNING"), upper=True) == "INFO"
    assert read.string("S", "") == "x"
    read.done()


@pytest.mark.parametrize(
    ("env", "call", "message"),
    [
        pytest.param({"N": "x"}, lambda r: r.integer("N", 1), "N='x' is not an integer", id="int"),
        pytest.param(
            {"N": "21"},
            lambda r: r.integer("N", 1, lo=0, hi=20),
            "N='21' is out of range: it must be an integer from 0 to 20",
            id="int-high",
        ),
        pytest.param(
            {"N": "-1"},
            lambda r: r.integer("N", 1, lo=0),
            "N='-1' is out of range: it must be an integer of at least 0",
            id="int-low",
        ),
        pytest.param(
            {"F": "inf"},
            lambda r: r.number("F", 1.0),
            "F='inf' is out of range: it must be a finite number",
            id="infinite",
        ),
        pytest.param(
            {"F": "nan"},
            lambda r: r.number("F", 1.0, hi=5),
            "F='nan' is out of range: it must be a finite number of at most 5",
            id="nan",
        ),
        pytest.param(
            {"B": "maybe"},
            lambda r: r.flag("B", default=False),
            "B='maybe' is not a boolean",
            id="bool",
        ),
        pytest.param(
            {"C": "LOUD"},
            lambda r: r.choice("C", "INFO", ("INFO", "DEBUG")),
            "C='LOUD' is not one of INFO, DEBUG",
            id="choice",
        ),
    ],
)
def test_a_bad_value_returns_the_default_and_is_reported(env, call, message) -> None:  # type: ignore[no-untyped-def]
    read = EnvReader(env)
    call(read)
    with pytest.raises(SettingsError) as caught:
        read.done()
    assert str(caught.value).startswith(message)


def test_every_problem_is_named_at_once() -> None:
    read = EnvReader({"A": "x", "B": "y"})
    read.integer("A", 1)
    read.number("B", 1.0)
    read.problem("C is required")
    with pytest.raises(SettingsError) as caught:
        read.done()
    assert caught.value.problems == (
        "A='x' is not an integer",
        "B='y' is not a finite number",
        "C is required",
    )
