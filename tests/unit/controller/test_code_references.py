from kappa.controller.code_references import CodeReferences


def test_functions_are_found_by_the_configmap_their_code_names() -> None:
    refs = CodeReferences()
    refs.name(("a", "one"), "code")
    refs.name(("a", "two"), "code")
    refs.name(("b", "three"), "code")  # same name, another namespace
    assert refs.functions(("a", "code")) == {("a", "one"), ("a", "two")}
    assert refs.functions(("b", "code")) == {("b", "three")}
    assert refs.functions(("a", "other")) == frozenset()


def test_a_function_that_names_another_configmap_or_none_is_moved_or_dropped() -> None:
    refs = CodeReferences()
    refs.name(("a", "one"), "old")
    refs.name(("a", "one"), "new")
    assert refs.functions(("a", "old")) == frozenset()
    assert refs.functions(("a", "new")) == {("a", "one")}
    refs.name(("a", "one"), None)  # inline code now
    assert refs.functions(("a", "new")) == frozenset()
    refs.name(("a", "one"), "new")
    refs.forget(("a", "one"))
    refs.forget(("a", "one"))  # twice: nothing left to forget
    assert refs.functions(("a", "new")) == frozenset()
