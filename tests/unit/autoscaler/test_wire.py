import pytest

from kappa.autoscaler.stats import Sample
from kappa.autoscaler.wire import (
    WireError,
    parse_poke,
    parse_stats,
    poke_document,
    stats_document,
)

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
