from kappa.controller.references import References


def test_functions_are_found_by_what_they_name() -> None:
    refs = References()
    refs.name(("a", "one"), [("a", "code")])
    refs.name(("a", "two"), [("a", "code"), ("a", "sink")])
    refs.name(("b", "three"), [("b", "code")])  # same name, another namespace
    assert refs.referrers(("a", "code")) == {("a", "one"), ("a", "two")}
    assert refs.referrers(("a", "sink")) == {("a", "two")}
    assert refs.referrers(("b", "code")) == {("b", "three")}
    assert refs.referrers(("a", "other")) == frozenset()


def test_a_function_that_names_something_else_or_nothing_is_moved_or_dropped() -> None:
    refs = References()
    refs.name(("a", "one"), [("a", "old")])
    refs.name(("a", "one"), [("a", "new")])
    assert refs.referrers(("a", "old")) == frozenset()
    assert refs.referrers(("a", "new")) == {("a", "one")}
    refs.name(("a", "one"), [])  # inline code now
    assert refs.referrers(("a", "new")) == frozenset()
    refs.name(("a", "one"), [("a", "new"), ("a", "new")])
    refs.name(("a", "two"), [("a", "new")])
    refs.forget(("a", "one"))
    refs.forget(("a", "one"))  # twice: nothing left to forget
    assert refs.referrers(("a", "new")) == {("a", "two")}
