import pytest

from kappa.controller.destinations import destination_keys, destinations_conditions


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


def test_destination_keys_are_functions_of_the_same_namespace() -> None:
    body = function("a", onFailure={"function": "sink"}, onSuccess={"natsSubject": "a.b"})
    assert destination_keys(body) == [("ns", "sink")]
    assert destination_keys(function("c")) == []
