import asyncio
import json
from typing import Any

from kappa.autoscaler.stats import Sample
from kappa.autoscaler.wire import WANT_COMPLETE_USAGE, parse_stats, parse_usage
from kappa.gateway.metrics import GatewayMetrics
from kappa.gateway.stats_push import StatsLink
from kappa.quota.usage import Usage

A = ("team-a", "thumbs")
B = ("team-b", "idle")


def link_over(metrics: GatewayMetrics) -> StatsLink:
    session: Any = None  # stats() builds the body; only run() posts it
    return StatsLink("http://operator:8081", session, metrics)


def test_every_stats_report_carries_the_running_usage_totals_since_the_gateway_started() -> None:
    metrics = GatewayMetrics()
    link = link_over(metrics)
    link.attach(lambda: {B: Sample(peak=1)}, lambda _key: Sample())
    for _ in range(3):
        metrics.bill(A, metrics.function(A), 101, 512)
    first = link.stats()
    assert parse_stats(first) == (link.gateway, {B: Sample(peak=1)})
    assert parse_usage(first) == (link.started, {A: Usage(3, 303, 303 * 512)}, True)
    metrics.bill(A, metrics.function(A), 1, 512)
    # Totals, not the calls since the last report: a lost report loses nothing.
    assert parse_usage(link.stats())[1] == {A: Usage(4, 304, 304 * 512)}


def test_a_forgotten_function_is_no_longer_reported() -> None:
    metrics = GatewayMetrics()
    link = link_over(metrics)
    metrics.bill(A, metrics.function(A), 5, 128)
    metrics.forget(A)
    assert parse_usage(link.stats())[1] == {}


class Answers:
    """Stands in for the autoscaler's endpoint (the integration tests use the real one):
    records each body posted and answers from a list (bytes: 2xx body, None: no answer)."""

    def __init__(self, link: StatsLink, answers: list[bytes | None]) -> None:
        self.sent: list[dict[str, Any]] = []
        self._answers = answers

        async def post(_path: str, document: dict[str, Any], _kind: str) -> bytes | None:
            self.sent.append(document)
            return self._answers.pop(0)

        link._post = post  # type: ignore[method-assign]  # noqa: SLF001 - the seam under test

    def usage(self, index: int) -> tuple[dict[tuple[str, str], Usage], bool]:
        report = parse_usage(self.sent[index])
        return report.totals, report.complete


def test_once_taken_a_total_goes_again_only_when_it_changes() -> None:
    metrics = GatewayMetrics()
    link = link_over(metrics)
    metrics.bill(A, metrics.function(A), 10, 128)
    metrics.bill(B, metrics.function(B), 20, 128)
    answers = Answers(link, [b"", b"", b""])
    asyncio.run(link.report())  # the first: all totals
    assert answers.usage(0) == ({A: Usage(1, 10, 1280), B: Usage(1, 20, 2560)}, True)
    asyncio.run(link.report())  # nothing ran: nothing to carry
    assert answers.usage(1) == ({}, False)
    metrics.bill(A, metrics.function(A), 5, 128)
    asyncio.run(link.report())
    assert answers.usage(2) == ({A: Usage(2, 15, 1920)}, False)


def test_totals_not_answered_go_again() -> None:
    metrics = GatewayMetrics()
    link = link_over(metrics)
    metrics.bill(A, metrics.function(A), 10, 128)
    metrics.bill(B, metrics.function(B), 10, 128)
    answers = Answers(link, [b"", None, b""])
    asyncio.run(link.report())
    metrics.bill(A, metrics.function(A), 10, 128)
    asyncio.run(link.report())  # lost on the way
    asyncio.run(link.report())
    assert answers.usage(1) == answers.usage(2) == ({A: Usage(2, 20, 2560)}, False)


def test_an_autoscaler_that_does_not_know_the_gateway_gets_every_total_next() -> None:
    metrics = GatewayMetrics()
    link = link_over(metrics)
    metrics.bill(A, metrics.function(A), 10, 128)
    metrics.bill(B, metrics.function(B), 20, 128)
    asked = json.dumps(WANT_COMPLETE_USAGE).encode()
    answers = Answers(link, [b"", asked, b"", b""])
    asyncio.run(link.report())
    metrics.bill(A, metrics.function(A), 10, 128)
    asyncio.run(link.report())  # a new leader: it asks for all
    asyncio.run(link.report())
    asyncio.run(link.report())
    both = {A: Usage(2, 20, 2560), B: Usage(1, 20, 2560)}
    assert answers.usage(1) == ({A: Usage(2, 20, 2560)}, False)
    assert answers.usage(2) == (both, True)
    assert answers.usage(3) == ({}, False)


def test_a_forgotten_function_that_runs_again_is_carried_again() -> None:
    metrics = GatewayMetrics()
    link = link_over(metrics)
    metrics.bill(A, metrics.function(A), 10, 128)
    answers = Answers(link, [b"", b"", b""])
    asyncio.run(link.report())
    metrics.forget(A)
    asyncio.run(link.report())
    metrics.bill(A, metrics.function(A), 10, 128)  # the same totals as before it was forgotten
    asyncio.run(link.report())
    # What it forgot goes once as zeros; each report is then all there is.
    assert answers.usage(1) == ({A: Usage()}, True)
    assert answers.usage(2) == ({A: Usage(1, 10, 1280)}, True)
