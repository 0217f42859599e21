import time

from kappa.base.clock import SystemClock, epoch_ms


def test_system_clock_reads_the_process_clocks() -> None:
    clock = SystemClock()
    before = time.time_ns() // 1_000_000
    wall = clock.wall_ms()
    after = epoch_ms()
    assert before <= wall <= after
    first = clock.monotonic()
    assert clock.monotonic() >= first
