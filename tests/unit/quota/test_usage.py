import pytest

from kappa.quota.usage import Usage, UsageLedger, changed_totals

SINCE = 1_000.0
A = ("team-a", "thumbs")
B = ("team-a", "report")
C = ("team-b", "resize")


def test_a_512_mb_function_run_100_times_for_100_ms_is_5_gb_seconds() -> None:
    total = sum((Usage.of(100, 512) for _ in range(100)), Usage())
    assert total == Usage(100, 10_000, 5_120_000)
    assert total.gb_seconds == 5


def test_gb_seconds_count_a_gigabyte_as_1024_mb() -> None:
    assert Usage.of(1000, 1024).gb_seconds == 1
    assert Usage.of(1, 128).gb_seconds == pytest.approx(0.000125)


def test_a_gateway_started_after_the_operator_counts_from_zero() -> None:
    ledger = UsageLedger(since=SINCE)
    ledger.record("g1", SINCE + 5, {A: Usage(3, 300, 300 * 512)}, now=SINCE + 6)
    assert ledger.namespace("team-a") == {"thumbs": Usage(3, 300, 300 * 512)}


@pytest.mark.parametrize("started", [SINCE - 60, None], ids=["before-the-operator", "unknown"])
def test_a_gateway_older_than_the_operator_is_a_baseline_at_its_first_report(
    started: float | None,
) -> None:
    ledger = UsageLedger(since=SINCE)
    ledger.record("g1", started, {A: Usage(50, 5000, 5000 * 128)}, now=SINCE + 1)
    assert ledger.namespace("team-a") == {}
    ledger.record("g1", started, {A: Usage(52, 5200, 5200 * 128)}, now=SINCE + 2)
    assert ledger.namespace("team-a") == {"thumbs": Usage(2, 200, 200 * 128)}


def test_running_totals_count_what_grew_so_a_lost_or_repeated_report_counts_once() -> None:
    ledger = UsageLedger(since=SINCE)
    ledger.record("g1", SINCE, {A: Usage(1, 100, 100 * 512)}, now=SINCE + 1)
    ledger.record("g1", SINCE, {A: Usage(1, 100, 100 * 512)}, now=SINCE + 2)  # sent again
    # The report of SINCE + 3 was lost; this one carries its calls.
    ledger.record("g1", SINCE, {A: Usage(4, 400, 400 * 512)}, now=SINCE + 4)
    assert ledger.namespace("team-a") == {"thumbs": Usage(4, 400, 400 * 512)}


def test_gateways_add_up_per_function_and_namespaces_stay_apart() -> None:
    ledger = UsageLedger(since=SINCE)
    ledger.record("g1", SINCE, {A: Usage(1, 10, 1280), C: Usage(2, 2, 256)}, now=SINCE + 1)
    ledger.record("g2", SINCE, {A: Usage(2, 20, 2560), B: Usage(1, 1, 128)}, now=SINCE + 1)
    assert ledger.namespace("team-a") == {"thumbs": Usage(3, 30, 3840), "report": Usage(1, 1, 128)}
    assert ledger.namespace("team-b") == {"resize": Usage(2, 2, 256)}
    assert ledger.namespace("team-c") == {}


def test_totals_that_go_down_started_again_and_count_from_zero() -> None:
    ledger = UsageLedger(since=SINCE)
    ledger.record("g1", SINCE, {A: Usage(10, 1000, 128_000)}, now=SINCE + 1)
    # The gateway forgot the Function (deleted, created again) and ran it twice since.
    ledger.record("g1", SINCE, {A: Usage(2, 200, 25_600)}, now=SINCE + 2)
    assert ledger.namespace("team-a") == {"thumbs": Usage(12, 1200, 153_600)}


def test_a_function_missing_from_a_report_keeps_its_usage() -> None:
    ledger = UsageLedger(since=SINCE)
    ledger.record("g1", SINCE, {A: Usage(1, 5, 640)}, now=SINCE + 1)
    ledger.record("g1", SINCE, {}, now=SINCE + 2)
    assert ledger.namespace("team-a") == {"thumbs": Usage(1, 5, 640)}


def test_silent_gateways_are_forgotten_and_usage_stays() -> None:
    ledger = UsageLedger(since=SINCE, baseline_seconds=60)
    ledger.record("old", SINCE, {A: Usage(1, 5, 640)}, now=SINCE + 1)
    ledger.record("new", SINCE, {A: Usage(1, 5, 640)}, now=SINCE + 30)
    assert ledger.expire(SINCE + 62) == ["old"]
    assert ledger.expire(SINCE + 62) == []
    assert ledger.namespace("team-a") == {"thumbs": Usage(2, 10, 1280)}
    # "new" keeps its baseline: its next report adds only what grew.
    ledger.record("new", SINCE, {A: Usage(2, 10, 1280)}, now=SINCE + 63)
    assert ledger.namespace("team-a") == {"thumbs": Usage(3, 15, 1920)}


def test_the_namespace_view_is_a_copy() -> None:
    ledger = UsageLedger(since=SINCE)
    ledger.record("g1", SINCE, {A: Usage(1, 5, 640)}, now=SINCE + 1)
    view = ledger.namespace("team-a")
    view["thumbs"] = Usage(99, 99, 99 * 128)
    assert ledger.namespace("team-a") == {"thumbs": Usage(1, 5, 640)}


def test_reset_counts_from_the_new_start_and_takes_older_gateways_as_baselines() -> None:
    ledger = UsageLedger(since=SINCE)
    ledger.record("g1", SINCE + 1, {A: Usage(5, 500, 64_000)}, now=SINCE + 2)
    ledger.reset(SINCE + 100)
    assert ledger.since == SINCE + 100
    assert ledger.namespace("team-a") == {}
    ledger.record("g1", SINCE + 1, {A: Usage(6, 600, 76_800)}, now=SINCE + 101)
    assert ledger.namespace("team-a") == {}  # g1 started before: a baseline
    ledger.record("g1", SINCE + 1, {A: Usage(7, 700, 89_600)}, now=SINCE + 102)
    assert ledger.namespace("team-a") == {"thumbs": Usage(1, 100, 12_800)}


def test_a_partial_report_from_a_gateway_not_known_is_not_taken() -> None:
    ledger = UsageLedger(since=SINCE)
    # Only what changed, from a gateway older than this ledger: not a baseline to build on.
    assert not ledger.record(
        "g1", SINCE - 60, {A: Usage(9, 900, 115_200)}, SINCE + 1, complete=False
    )
    assert ledger.namespace("team-a") == {}
    # All of its totals: the baseline; then partial reports count what grew.
    all_of_them = {A: Usage(9, 900, 115_200), B: Usage(4, 40, 5_120)}
    assert ledger.record("g1", SINCE - 60, all_of_them, SINCE + 2, complete=True)
    assert ledger.record("g1", SINCE - 60, {B: Usage(5, 50, 6_400)}, SINCE + 3, complete=False)
    assert ledger.namespace("team-a") == {"report": Usage(1, 10, 1_280)}
    # An empty partial report keeps a known gateway alive.
    assert ledger.record("g1", SINCE - 60, {}, SINCE + 3000, complete=False)
    assert ledger.expire(SINCE + 3602) == []


def test_after_a_reset_a_known_gateway_must_send_all_again() -> None:
    ledger = UsageLedger(since=SINCE)
    assert ledger.record("g1", SINCE + 1, {A: Usage(1, 10, 1_280)}, SINCE + 2)
    ledger.reset(SINCE + 100)
    assert not ledger.record("g1", SINCE + 1, {A: Usage(2, 20, 2_560)}, SINCE + 101, complete=False)


def test_changed_totals_are_those_not_as_taken() -> None:
    taken = {A: Usage(1, 10, 1_280), B: Usage(2, 20, 2_560)}
    now = {A: Usage(1, 10, 1_280), B: Usage(3, 30, 3_840), C: Usage(1, 1, 128)}
    assert changed_totals(now, taken) == {B: Usage(3, 30, 3_840), C: Usage(1, 1, 128)}
    assert changed_totals(now, now) == {}
    # Taken but no longer counted (the gateway forgot it): zeros, once.
    assert changed_totals({A: Usage(1, 10, 1_280)}, taken) == {B: Usage()}


def test_a_function_forgotten_and_run_again_to_the_same_totals_counts_again() -> None:
    ledger = UsageLedger(since=SINCE)
    ledger.record("g1", SINCE, {A: Usage(1, 10, 1_280)}, now=SINCE + 1)
    ledger.record("g1", SINCE, changed_totals({}, {A: Usage(1, 10, 1_280)}), now=SINCE + 2)
    ledger.record("g1", SINCE, {A: Usage(1, 10, 1_280)}, now=SINCE + 3, complete=False)
    assert ledger.namespace("team-a") == {"thumbs": Usage(2, 20, 2_560)}
