"""A poller stand-in run as a subprocess, to be SIGKILLed mid-batch by the tests.

argv: source module, block model name, block JSON, group, batch size, options JSON.
Prints one JSON line {"fetched": [ids]}, acks the first ``ACKED`` records of
the batch, prints {"acked": [ids]}, then waits to be killed with the rest in hand.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys

from kappa.api import event_source_mapping
from tests.integration.eventsources.brokers.broker_harness import source_config

ACKED = 2


async def main(argv: list[str]) -> None:
    module_name, block_model, block_json, group, batch_size, options = argv
    module = importlib.import_module(f"kappa.eventsources.{module_name}")
    block = getattr(event_source_mapping, block_model).model_validate_json(block_json)
    config = source_config(block, group=group, batch_size=int(batch_size), consumer="doomed")
    source = await module.open_source(config, **json.loads(options))
    batch = []
    while not batch:
        batch = await source.fetch(int(batch_size), 1.0)
    print(json.dumps({"fetched": [r.id for r in batch]}), flush=True)  # noqa: T201
    await source.ack(batch[:ACKED])
    print(json.dumps({"acked": [r.id for r in batch[:ACKED]]}), flush=True)  # noqa: T201
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
