"""Async destination subjects: a namespace publishes to its own subjects only."""

from typing import Any

import pytest

from kappa.controller.subjects import subject_refusal


def function(namespace: str, **destinations: Any) -> dict[str, Any]:
    return {"metadata": {"namespace": namespace}, "spec": {"async": destinations}}


@pytest.mark.parametrize(
    "destinations",
    [{}, {"onSuccess": {"natsSubject": "team-a.results"}},
     {"onFailure": {"function": "dlq"}, "onSuccess": {"natsSubject": "team-a.x.y"}}],
)  # fmt: skip
def test_its_own_subjects_are_accepted(destinations: dict[str, Any]) -> None:
    assert subject_refusal(function("team-a", **destinations)) is None


@pytest.mark.parametrize(
    ("subject", "where"),
    [
        ("kappa.dlq.team-b.fn", "onFailure"),  # another tenant's dead letters
        ("$JS.API.STREAM.PURGE.kappa-async", "onSuccess"),  # NATS's own API
        ("team-b.orders", "onSuccess"),
        ("team-ab.orders", "onSuccess"),  # a prefix of the name is not the namespace
        ("results", "onFailure"),
    ],
)
def test_any_other_subject_is_refused_saying_what_to_use(subject: str, where: str) -> None:
    why = subject_refusal(function("team-a", **{where: {"natsSubject": subject}}))
    assert why is not None
    assert f"spec.async.{where}.natsSubject {subject!r} must start with" in why
    assert "team-a." in why
