from hypothesis import given
from hypothesis import strategies as st

from kappa.invocation.function_labels import OVERFLOW, FunctionLabels

A = ("team-a", "one")
B = ("team-a", "two")
C = ("team-b", "three")


def test_functions_within_the_cap_keep_their_own_labels() -> None:
    labels = FunctionLabels(cap=2)
    assert labels(A) == A
    assert labels(C) == C
    assert labels(A) == A
    assert labels.labelled == 2


def test_past_the_cap_a_function_is_other_of_its_namespace_and_stays_so() -> None:
    labels = FunctionLabels(cap=1)
    assert labels(A) == A
    assert labels(B) == ("team-a", OVERFLOW)
    assert labels(C) == ("team-b", OVERFLOW)
    labels.forget(A)
    # B was counted under _other: it stays there, so its counters never jump.
    assert labels(B) == ("team-a", OVERFLOW)
    # The freed place goes to the next Function not seen before.
    assert labels(("team-c", "four")) == ("team-c", "four")


def test_cap_zero_turns_the_function_label_off() -> None:
    labels = FunctionLabels(cap=0)
    assert labels(A) == ("team-a", OVERFLOW)
    assert labels.labelled == 0


def test_forget_names_the_labels_to_drop_only_when_no_function_uses_them() -> None:
    labels = FunctionLabels(cap=1)
    labels(A)
    labels(B)
    labels(("team-a", "five"))
    assert labels.forget(A) == A
    assert labels.forget(A) is None  # already gone
    assert labels.forget(B) is None  # "five" is still _other of team-a
    assert labels.forget(("team-a", "five")) == ("team-a", OVERFLOW)
    assert labels.forget(C) is None  # never seen


def test_peek_gives_no_label() -> None:
    labels = FunctionLabels(cap=5)
    assert labels.peek(A) == ("team-a", OVERFLOW)
    assert labels.labelled == 0
    labels(A)
    assert labels.peek(A) == A


keys = st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["f1", "f2", "f3", "f4"]))


@given(
    cap=st.integers(0, 5),
    steps=st.lists(st.tuples(st.booleans(), keys), max_size=60),
)
def test_label_sets_stay_within_the_cap_plus_namespaces(
    cap: int, steps: list[tuple[bool, tuple[str, str]]]
) -> None:
    labels = FunctionLabels(cap)
    live: dict[tuple[str, str], tuple[str, str]] = {}
    for forget, key in steps:
        if forget:
            labels.forget(key)
            live.pop(key, None)
        else:
            given_labels = labels(key)
            # A Function keeps the labels it was given for as long as it lives.
            assert live.setdefault(key, given_labels) == given_labels
            assert given_labels[0] == key[0]
    in_use = set(live.values())
    own = {value for value in in_use if value[1] != OVERFLOW}
    assert len(own) <= cap
    assert len(in_use) <= cap + len({key[0] for key in live})
