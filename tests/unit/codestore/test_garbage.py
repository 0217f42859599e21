from typing import Any

from kappa.codestore.capability import package_key
from kappa.codestore.garbage import StoredPackage, plan, referenced

A, B, C = "a" * 64, "b" * 64, "c" * 64
NOW = 100_000.0
GRACE = 3600.0


def _function(namespace: str, sha: str | None) -> dict[str, Any]:
    code: dict[str, Any] = (
        {"inline": {"app.py": "x"}}
        if sha is None
        else {"url": {"url": f"http://store/v1/packages/{namespace}/{sha}?sig=0", "sha256": sha}}
    )
    return {"metadata": {"namespace": namespace, "name": "f"}, "spec": {"code": code}}


def _version(namespace: str, sha: str) -> dict[str, Any]:
    snapshot = _function(namespace, sha)["spec"]
    return {"metadata": {"namespace": namespace, "name": "f.1"},
            "spec": {"function": "f", "version": 1, "snapshot": snapshot}}  # fmt: skip


def _stored(namespace: str, sha: str, uploaded_at: float) -> StoredPackage:
    return StoredPackage(package_key(namespace, sha), 10, uploaded_at)


def test_functions_and_versions_name_packages_in_their_namespace() -> None:
    named = referenced([_function("t", A), _version("t", B), _function("u", C),
                        _function("t", None)])  # fmt: skip
    assert named == {package_key("t", A), package_key("t", B), package_key("u", C)}


def test_malformed_objects_name_nothing_and_break_nothing() -> None:
    weird: list[dict[str, Any]] = [
        {},
        {"metadata": {"namespace": "t"}, "spec": {"code": {"url": {"sha256": "nope"}}}},
        {"metadata": {"namespace": "t"}, "spec": {"code": "x", "snapshot": 3}},
        {"metadata": {"namespace": 5}, "spec": {"code": {"url": {"sha256": A}}}},
    ]
    assert referenced(weird) == frozenset()


def test_only_old_unnamed_packages_are_deleted() -> None:
    stored = [
        _stored("t", A, NOW - 2 * GRACE),  # named: kept
        _stored("t", B, NOW - 2 * GRACE),  # unnamed and old: deleted
        _stored("t", C, NOW - 10),  # unnamed but just uploaded: kept
        _stored("u", A, NOW - 2 * GRACE),  # the same bytes, another namespace: deleted
    ]
    doomed = plan(stored, frozenset({package_key("t", A)}), now=NOW, grace_seconds=GRACE)
    assert [p.key for p in doomed] == [package_key("t", B), package_key("u", A)]


def test_the_grace_period_is_a_strict_bound() -> None:
    at_the_edge = [_stored("t", A, NOW - GRACE)]
    assert plan(at_the_edge, frozenset(), now=NOW, grace_seconds=GRACE) == []
    past_it = [_stored("t", A, NOW - GRACE - 1)]
    assert plan(past_it, frozenset(), now=NOW, grace_seconds=GRACE) == past_it


def test_a_version_keeps_its_package_after_the_function_moved_on() -> None:
    objects = [_function("t", B), _version("t", A)]
    stored = [_stored("t", A, 0.0), _stored("t", B, 0.0)]
    assert plan(stored, referenced(objects), now=NOW, grace_seconds=GRACE) == []
