"""The schedule source with a rate: it counts from the saved last fire, so a restarted
poller keeps its phase and fires the latest time it missed, once."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

from kappa.api.event_source_mapping import ScheduleSource as ScheduleBlock
from kappa.eventsources.schedule import STATE_KEY, open_source
from kappa.eventsources.source import SourceConfig


class _State:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    async def load(self, key: str) -> str | None:
        return self.values.get(key)

    async def save(self, key: str, value: str) -> None:
        self.values[key] = value


def _config(state: _State) -> SourceConfig:
    return SourceConfig(
        block=ScheduleBlock.model_validate({"cron": "rate(1 minute)"}),
        namespace="default",
        mapping_name="tick",
        consumer_name="poller-0",
        group="kappa-default-tick",
        batch_size=1,
        region="us-east-1",
        state=state,
    )


def test_a_restarted_rate_fires_the_latest_missed_time_in_its_phase() -> None:
    last = (datetime.now(UTC) - timedelta(seconds=125)).replace(microsecond=0)
    state = _State({STATE_KEY: last.isoformat()})

    async def run() -> list[str]:
        source = await open_source(_config(state))
        records = await source.fetch(1, 0.0)
        await source.ack(records)
        again = await source.fetch(1, 0.0)
        return [json.loads(r.body)["time"] for r in records + again]

    fired = asyncio.run(run())
    # last+60 s and last+120 s were due; only the latest fires, and nothing more is due.
    assert fired == [(last + timedelta(seconds=120)).strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert state.values[STATE_KEY] == (last + timedelta(seconds=120)).isoformat()
