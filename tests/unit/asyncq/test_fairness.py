from kappa.asyncq.fairness import grant, namespaces_of, per_namespace, share


def test_a_namespace_alone_may_use_every_slot() -> None:
    assert share(32, 1) == 32
    assert grant("a", free=32, running={}, namespaces=1, workers=32) == 32


def test_with_others_waiting_a_namespace_gets_its_share_and_no_more() -> None:
    assert share(32, 2) == 16
    assert share(32, 3) == 11
    assert grant("a", free=20, running={"a": 12}, namespaces=2, workers=32) == 4
    assert grant("a", free=20, running={"a": 16}, namespaces=2, workers=32) == 0
    # The other namespace still finds room: the backlog cannot take it.
    assert grant("b", free=16, running={"a": 16}, namespaces=2, workers=32) == 16


def test_grants_never_exceed_the_free_slots_and_every_namespace_gets_at_least_one() -> None:
    assert grant("a", free=3, running={}, namespaces=2, workers=32) == 3
    assert grant("a", free=0, running={}, namespaces=1, workers=32) == 0
    assert share(4, 10) == 1
    assert grant("z", free=1, running={"a": 1, "b": 1, "c": 1}, namespaces=10, workers=4) == 1


def test_namespaces_are_counted_from_event_subjects_only() -> None:
    subjects = {
        "kappa.async.a.f": 3,
        "kappa.async.a.g": 2,
        "kappa.async.b.f": 1,
        "kappa.async.c.f": 0,
        "kappa.dlq.a.f": 7,
        "other.async.a.f": 9,
        "kappa.async.a": 4,
    }
    assert namespaces_of(subjects, "kappa") == {"a": 5, "b": 1}


def test_a_namespaces_events_in_both_streams_count_as_one_namespace() -> None:
    sources = {("kappa-events_a", "a"): 3, ("kappa-async", "a"): 2, ("kappa-events_b", "b"): 1}
    assert per_namespace(sources) == {"a": 5, "b": 1}
    assert per_namespace({}) == {}
