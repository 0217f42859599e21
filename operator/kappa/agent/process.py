"""``kappa agent``: a Function's agent, or a pool pod's until one claims it."""

import asyncio
import sys

from kappa.agent import app
from kappa.agent.logsink import LogSink
from kappa.agent.settings import process_env
from kappa.agent.specialise import pool_digest
from kappa.base.clock import SystemClock


def main() -> int:
    """Run this pod's agent; return its exit status."""
    env = process_env()
    if pool_digest(env) is None:
        return app.main()
    # A pool pod: its Function comes later (kappa.agent.pool_mode, imported by pool pods only).
    from kappa.agent.pool_mode import run_pool  # noqa: PLC0415

    clock = SystemClock()
    return asyncio.run(run_pool(env, clock=clock, sink=LogSink(sys.stdout.buffer, clock)))
