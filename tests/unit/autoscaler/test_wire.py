import json

import pytest

from kappa.autoscaler.stats import Sample
from kappa.autoscaler.wire import (
    WANT_COMPLETE_USAGE,
    WireError,
    parse_poke,
    parse_ready_port,
    parse_stats,
    parse_usage,
    poke_document,
    stats_document,
    wants_complete_usage,
)
from kappa.quota.usage import Usage

KEY = ("team-a", "fn")


def test_stats_round_trip() -> None:
    sample = Sample(1.25, 2, 1, {"fn-abc": 2})
    gateway, functions = parse_stats(stats_document("g1", {KEY: sample}))
    assert gateway == "g1"
    assert functions == {KEY: sample}


def test_poke_round_trip() -> None:
    assert parse_poke(poke_document("g1", KEY, Sample(0, 0, 1), 12.5)) == (
        "g1", KEY, Sample(0, 0, 1), 12.5,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param([], "the body must be a JSON object", id="not-an-object"),
        pytest.param({"functions": []}, "gateway must be", id="no-gateway"),
        pytest.param({"gateway": "g", "functions": {}}, "functions must be a list", id="bad-list"),
        pytest.param({"gateway": "g", "functions": [{"name": "x"}]}, "namespace and name",
                     id="no-namespace"),
        pytest.param({"gateway": "g", "functions": [{"namespace": "a", "name": "x", "peak": -1}]},
                     "peak must be an integer from 0 to 1000000", id="negative-peak"),
        pytest.param({"gateway": "g", "functions": [{"namespace": "a", "name": "x",
                      "inFlight": float("inf")}]}, "inFlight must be a finite number",
                     id="infinite-in-flight"),
        pytest.param({"gateway": "g", "functions": [{"namespace": "a", "name": "x",
                      "inFlight": float("nan")}]}, "inFlight must be a finite number",
                     id="nan-in-flight"),
        pytest.param({"gateway": "g", "functions": [{"namespace": "a", "name": "x",
                      "inFlight": 1e7}]}, "from 0 to 1000000", id="huge-in-flight"),
        pytest.param({"gateway": "g", "functions": [{"namespace": "a", "name": "x",
                      "queued": 10**12}]}, "queued must be an integer", id="huge-queue"),
        pytest.param({"gateway": "g", "functions": [{"namespace": "a", "name": "x",
                      "pods": {f"p{i}": 1 for i in range(10_001)}}]}, "at most 10000 pods",
                     id="too-many-pods"),
        pytest.param({"gateway": "g" * 129, "functions": []}, "gateway must be a string",
                     id="long-gateway-id"),
        pytest.param({"gateway": "g", "functions": [{"namespace": "a" * 254, "name": "x"}]},
                     "namespace and name must be strings", id="long-namespace"),
        pytest.param({"gateway": "g", "functions": [{"namespace": "a", "name": "x",
                      "inFlight": "1"}]}, "inFlight must be", id="string-in-flight"),
        pytest.param({"gateway": "g", "functions": [{"namespace": "a", "name": "x",
                      "pods": {"p": True}}]}, "pods['p']", id="bool-pod-count"),
    ],
)  # fmt: skip
def test_bad_stats_say_what_is_wrong(document: object, message: str) -> None:
    with pytest.raises(WireError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_stats(document)


def test_bad_poke_time() -> None:
    with pytest.raises(WireError, match="at must be a finite number"):
        parse_poke({"gateway": "g", "namespace": "a", "name": "x", "at": "soon"})
    with pytest.raises(WireError, match="at must be a finite number"):
        parse_poke({"gateway": "g", "namespace": "a", "name": "x", "at": float("inf")})


def test_usage_round_trip() -> None:
    usage = {KEY: Usage(100, 10_100, 5_171_200), ("team-b", "g"): Usage(1, 1, 10240)}
    document = stats_document("g1", {}, usage, 1767225600.5)
    assert parse_usage(document) == (1767225600.5, usage, True)
    # The stats themselves are read as before.
    assert parse_stats(document) == ("g1", {})


def test_a_report_without_usage_has_none() -> None:
    assert parse_usage(stats_document("g1", {KEY: Sample()})) == (None, {}, True)


def test_a_report_says_when_its_usage_is_only_what_changed() -> None:
    usage = {KEY: Usage(1, 5, 640)}
    partial = parse_usage(stats_document("g1", {}, usage, 1.0, complete=False))
    assert partial == (1.0, usage, False)
    # An older gateway's report has no such field: its totals are all of them.
    assert parse_usage({"gateway": "g", "functions": [], "usage": []}).complete


@pytest.mark.parametrize("flag", ["false", 0, None, [True]])
def test_a_bad_usage_complete_flag_is_refused(flag: object) -> None:
    with pytest.raises(WireError, match="usageComplete must be true or false"):
        parse_usage({"gateway": "g", "functions": [], "usageComplete": flag})


@pytest.mark.parametrize(
    ("answer", "wanted"),
    [
        pytest.param(b"", False, id="204"),
        pytest.param(json.dumps(WANT_COMPLETE_USAGE).encode(), True, id="asked"),
        pytest.param(b'{"wantCompleteUsage": false}', False, id="not-asked"),
        pytest.param(b"{}", False, id="other-object"),
        pytest.param(b"<html>", True, id="not-json"),
        pytest.param(b"[1]", True, id="not-an-object"),
    ],
)
def test_an_answer_that_is_not_plainly_taken_asks_for_every_total(
    answer: bytes, *, wanted: bool
) -> None:
    assert wants_complete_usage(answer) is wanted


def _usage(**fields: object) -> dict[str, object]:
    entry = {"namespace": "a", "name": "x", "requests": 2, "billedMs": 300, "mbMs": 300 * 512}
    return {"gateway": "g", "functions": [], "usage": [{**entry, **fields}]}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param(_usage(requests=-1), "requests must be an integer from 0", id="negative"),
        pytest.param(_usage(mbMs=float("nan")), "mbMs must be an integer", id="nan"),
        pytest.param(_usage(billedMs=float("inf")), "billedMs must be an integer", id="infinity"),
        pytest.param(_usage(requests=10**12 + 1), "requests must be an integer from 0 to "
                     "1000000000000", id="huge-requests"),
        pytest.param(_usage(requests=1, billedMs=10**30, mbMs=10**34), "billedMs must be an "
                     "integer", id="huge-duration"),
        pytest.param(_usage(requests=1.5), "requests must be an integer", id="fraction"),
        pytest.param(_usage(requests=True), "requests must be an integer", id="bool"),
        pytest.param(_usage(requests="2"), "requests must be an integer", id="string"),
        pytest.param(_usage(mbMs=None), "mbMs must be an integer", id="missing"),
        pytest.param(_usage(requests=5, billedMs=4, mbMs=4 * 128), "billedMs must be from 1 "
                     "to 901000 per request", id="under-1-ms-a-request"),
        pytest.param(_usage(requests=1, billedMs=901_001, mbMs=901_001 * 128), "billedMs must "
                     "be from 1 to 901000", id="longer-than-any-timeout"),
        pytest.param(_usage(mbMs=300 * 127), "mbMs must be billedMs times a memory of 128",
                     id="memory-too-small"),
        pytest.param(_usage(mbMs=300 * 10241), "mbMs must be billedMs times", id="memory-too-big"),
        pytest.param(_usage(namespace=""), "namespace and name must be", id="empty-namespace"),
        pytest.param(_usage(name="x" * 254), "namespace and name must be", id="long-name"),
        pytest.param({"gateway": "g", "usage": {"a": 1}}, "usage must be a list", id="not-a-list"),
        pytest.param({"gateway": "g", "usage": [1]}, r"usage\[0\] must be a JSON object",
                     id="not-an-object"),
        pytest.param({"gateway": "g", "started": float("nan")}, "started must be a finite",
                     id="nan-start"),
        pytest.param({"gateway": "g", "started": -1}, "started must be a finite", id="before-1970"),
        pytest.param({"gateway": "g", "started": "now"}, "started must be a finite",
                     id="string-start"),
    ],
)  # fmt: skip
def test_bad_usage_says_what_is_wrong(document: object, message: str) -> None:
    with pytest.raises(WireError, match=message):
        parse_usage(document)


def test_usage_of_nothing_run_is_all_zero_and_accepted() -> None:
    assert parse_usage(_usage(requests=0, billedMs=0, mbMs=0))[1] == {("a", "x"): Usage()}


def test_the_ready_port_rides_on_stats_and_pokes() -> None:
    assert parse_ready_port(stats_document("g1", {}, ready_port=8000)) == 8000
    assert parse_ready_port(poke_document("g1", KEY, Sample(), 1.0, 8000)) == 8000
    assert parse_ready_port(stats_document("g1", {})) is None


@pytest.mark.parametrize("port", [0, 65536, "8000", True, 80.5])
def test_a_bad_ready_port_is_refused(port: object) -> None:
    with pytest.raises(WireError, match="readyPort"):
        parse_ready_port({"gateway": "g", "functions": [], "readyPort": port})
