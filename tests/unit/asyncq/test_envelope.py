import uuid

import pytest

from kappa.asyncq import envelope
from kappa.asyncq.envelope import (
    DeadLetter,
    Event,
    MalformedEventError,
    Names,
    dead_letter_headers,
    destination_request_id,
    event_from,
)
from kappa.invocation.request_id import request_id_for

NAMES = Names("kappa")
ID = "2b5f5c1e-0d6a-4f37-9c3b-0a8d1f0e6b2c"


def test_an_event_survives_its_headers() -> None:
    event = Event("team", "fn", ID, b"{}", 1234, 60, trace_id="Root=1-abc", redriven_from="x")
    assert event_from(NAMES, "kappa.async.team.fn", event.headers(), b"{}") == event
    # Duplicates are keyed by namespace and Function too: a caller's id reused elsewhere
    # is another event.
    assert event.headers()[envelope.MSG_ID] == f"team.fn.{ID}"
    assert Event("other", "fn", ID, b"{}", 1234).headers()[envelope.MSG_ID] == f"other.fn.{ID}"


@pytest.mark.parametrize(
    ("subject", "headers", "problem"),
    [
        pytest.param("other.async.a.b", {}, "not an event subject", id="foreign-subject"),
        pytest.param("kappa.async.a", {}, "not an event subject", id="short-subject"),
        pytest.param("kappa.async.a.b", {}, "no UUID", id="no-request-id"),
        pytest.param("kappa.async.a.b", {envelope.REQUEST_ID: "x y"}, "no UUID", id="not-uuid"),
        pytest.param("kappa.async.a.b", {envelope.REQUEST_ID: ID, envelope.ENQUEUED_MS: "soon"},
                     "malformed header", id="bad-time"),
    ],
)  # fmt: skip
def test_foreign_messages_are_refused(subject: str, headers: dict[str, str], problem: str) -> None:
    with pytest.raises(MalformedEventError, match=problem):
        event_from(NAMES, subject, headers, b"")


def test_names_of_an_installation() -> None:
    names = Names("blue")
    assert names.event_subject("ns", "fn") == "blue.events.ns.fn"
    assert names.legacy_subject("ns", "fn") == "blue.async.ns.fn"
    assert names.dlq_subject("ns") == "blue.dlq.ns.*"
    assert (names.event_stream("ns"), names.legacy_stream, names.dlq_stream) == (
        "blue-events_ns", "blue-async", "blue-dlq")  # fmt: skip
    assert names.function_of("blue.dlq.ns.fn") == ("ns", "fn")
    assert names.function_of("blue.events.ns.fn") == ("ns", "fn")


@pytest.mark.parametrize(
    ("stream", "namespace"),
    [
        pytest.param("blue-events_team-a", "team-a", id="a-namespaces-stream"),
        pytest.param("blue-events_", None, id="no-namespace"),
        pytest.param("blue-async", None, id="the-shared-stream-of-earlier-versions"),
        pytest.param("blue-dlq", None, id="dead-letters"),
        pytest.param("green-events_team-a", None, id="another-installations"),
        pytest.param("blue-events-x_team", None, id="a-longer-prefix"),
    ],
)
def test_the_namespace_of_an_event_stream(stream: str, namespace: str | None) -> None:
    assert Names("blue").namespace_of_stream(stream) == namespace


def test_a_published_versions_events_have_a_subject_token_of_their_own() -> None:
    names = Names("blue")
    assert names.event_subject("ns", "fn.12") == "blue.events.ns.fn_12"
    assert names.dlq_subject("ns", "fn.12") == "blue.dlq.ns.fn_12"
    assert names.function_of("blue.async.ns.fn_12") == ("ns", "fn.12")
    assert names.function_of(names.event_subject("ns", "fn")) == ("ns", "fn")
    assert names.function_of("blue.async.ns.fn.12") is None  # not one token: not Kappa's


@pytest.mark.parametrize(
    ("sdk_id", "expected"),
    [
        pytest.param(ID.upper(), ID, id="sdk-uuid-taken-lowercased"),
        pytest.param("not-a-uuid", "fresh", id="other-ids-ignored"),
        pytest.param(None, "fresh", id="no-sdk-id"),
    ],
)
def test_request_id_prefers_the_sdks_invocation_id(sdk_id: str | None, expected: str) -> None:
    assert request_id_for(sdk_id, "fresh") == expected


def test_destination_request_ids_are_stable_and_distinct() -> None:
    first = destination_request_id(ID, "Success")
    assert first == destination_request_id(ID, "Success")
    assert first != destination_request_id(ID, "RetriesExhausted")
    assert uuid.UUID(first).version == 5


def test_dead_letter_headers_carry_lambdas_attributes() -> None:
    event = Event("ns", "fn", ID, b"{}", 1)
    why = DeadLetter("RetriesExhausted", "200", "ValueError:\n  " + "x" * 2000, 3, 99)
    headers = dead_letter_headers(event, why)
    assert headers[envelope.DLQ_REQUEST_ID] == ID
    assert headers[envelope.DLQ_ERROR_CODE] == "200"
    assert headers[envelope.DLQ_ERROR_MESSAGE].startswith("ValueError: xxx")
    assert len(headers[envelope.DLQ_ERROR_MESSAGE]) == 1024
    assert headers[envelope.MSG_ID] == f"dlq.ns.fn.{ID}"


@pytest.mark.parametrize(
    ("namespace", "subject", "allowed"),
    [
        pytest.param("team-a", "team-a.orders.failed", True, id="own"),
        pytest.param("team-a", "team-b.orders.failed", False, id="another-namespace"),
        pytest.param("team-a", "team-ab.orders", False, id="a-longer-namespace"),
        pytest.param("kappa", "kappa.dlq.team-b.victim", False, id="the-prefix-namespace"),
        pytest.param("team-a", "kappa.async.team-a.f", False, id="the-queue"),
    ],
)  # fmt: skip
def test_destination_subjects_are_the_functions_namespace_own(
    namespace: str,
    subject: str,
    allowed: bool,  # noqa: FBT001 - a parameter of the table
) -> None:
    assert Names().destination_allowed(namespace, subject) is allowed


def test_queue_counts_by_function() -> None:
    names = Names("kappa")
    subjects = {
        "kappa.async.team-a.resize": 3,
        "kappa.async.team-b.report": 1,
        "kappa.dlq.team-a.resize": 2,
        "kappa.async.team-c.empty": 0,
        "elsewhere.subject": 9,
    }
    assert names.by_function(subjects) == {("team-a", "resize"): 5, ("team-b", "report"): 1}
    assert names.by_function(None) == {}


def test_a_missing_enqueue_time_is_malformed() -> None:
    with pytest.raises(MalformedEventError, match="malformed header"):
        event_from(NAMES, "kappa.async.a.b", {envelope.REQUEST_ID: ID}, b"")


def test_a_missing_max_age_is_lambdas_default_of_six_hours() -> None:
    headers = {envelope.REQUEST_ID: ID, envelope.ENQUEUED_MS: "5"}
    assert event_from(NAMES, "kappa.async.a.b", headers, b"").max_event_age_seconds == 21600


def test_dead_letter_headers_carry_the_count_and_the_time() -> None:
    why = DeadLetter("EventAgeExceeded", "429", "old", 3, 99)
    headers = dead_letter_headers(Event("ns", "fn", ID, b"{}", 1), why)
    assert (headers[envelope.DLQ_INVOKE_COUNT], headers[envelope.DLQ_DEAD_LETTERED_MS]) == (
        "3",
        "99",
    )
