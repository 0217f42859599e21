"""A clock for unit tests: time moves only when the code under test sleeps."""

from dataclasses import dataclass, field


@dataclass
class FakeClock:
    """Monotonic and wall time together, ``now`` seconds; each sleep is recorded and passes."""

    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def wall_ms(self) -> int:
        return int(self.now * 1000)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
