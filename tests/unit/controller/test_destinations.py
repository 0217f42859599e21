import pytest

from kappa.controller.destinations import destinations_conditions, referencing


def function(name: str, **asynchronous: object) -> dict[str, object]:
    return {"metadata": {"namespace": "ns", "name": name}, "spec": {"async": asynchronous}}


EXISTING = {("ns", "sink"), ("ns", "work"), ("other", "ghost")}


@pytest.mark.parametrize(
    ("body", "status", "reason", "words"),
    [
        pytest.param(function("work", onFailure={"function": "sink"}), "True",
                     "DestinationsFound", "onFailure: sink", id="exists"),
        pytest.param(function("work", onSuccess={"function": "ghost"}), "False",
                     "DestinationNotFound", "onSuccess Function 'ghost' does not exist in "
                     "namespace ns", id="other-namespace-does-not-count"),
        pytest.param(function("work", onSuccess={"function": "sink"},
                              onFailure={"function": "nope"}), "False",
                     "DestinationNotFound", "wait in the queue", id="one-of-two-missing"),
    ],
)  # fmt: skip
def test_destination_functions_are_checked(
    body: dict[str, object], status: str, reason: str, words: str
) -> None:
    [condition] = destinations_conditions(body, EXISTING)
    assert (condition.type, condition.status, condition.reason) == (
        "DestinationsReady", status, reason,
    )  # fmt: skip
    assert words in condition.message


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(function("work"), id="no-async-destinations"),
        pytest.param(function("work", onSuccess={"natsSubject": "a.b"}), id="nats-only"),
        pytest.param({"metadata": {"name": "x"}, "spec": {}}, id="no-async-block"),
    ],
)
def test_no_function_destination_no_condition(body: dict[str, object]) -> None:
    assert destinations_conditions(body, EXISTING) == []


def test_referencing_finds_the_functions_that_name_a_destination() -> None:
    bodies = {
        ("ns", "a"): function("a", onFailure={"function": "sink"}),
        ("ns", "b"): function("b", onSuccess={"function": "sink"}),
        ("ns", "c"): function("c"),
        ("other", "d"): function("d", onFailure={"function": "sink"}),
    }
    assert referencing(bodies, ("ns", "sink")) == [("ns", "a"), ("ns", "b")]
