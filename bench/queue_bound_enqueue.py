"""What a namespace's queue bound costs an Event invocation through the gateway.

Real processes on 127.0.0.1: Debian's nats-server and `kappa gateway` with no workers
(KAPPA_ASYNC_WORKERS=0: every event stays queued), N Event invocations of one Function
from 16 keep-alive connections, 202s per second (each after JetStream's ack). Side by
side in one run, each configuration twice in alternating order:

- no bound: the namespace has no ConcurrencyQuota bound (one publish per event);
- bounded, chained: maxQueuedEvents and maxQueuedBytes set far above what is sent, this
  checkout (a stream info per round of up to 16 conditional publishes);
- bounded, one at a time (``--baseline REV``, a revision where each bounded enqueue
  reads the stream and publishes alone, e.g. the commit before the chains).

Prints figures; asserts nothing.

    .venv/bin/python bench/queue_bound_enqueue.py [-n 3000] [--baseline REV]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from async_events import checkout, gateway, nats_servers, send
from gateway import scaffold, stop_all

BOUNDS = {"namespaceQueuedEvents": {"default": 10_000_000},
          "namespaceQueuedBytes": {"default": 1 << 40}}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=3000, help="events per configuration and round")
    parser.add_argument("--baseline", help="a revision whose bounded enqueue goes one at a time")
    args = parser.parse_args()
    rates: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        scaffold(root)
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": scratch, "TZ": "UTC"}
        function = {"name": "noop", "handler": "app.handler", "timeoutSeconds": 3}
        plain, bounded = root / "plain.json", root / "bounded.json"
        plain.write_text(json.dumps({"functions": [function]}))
        bounded.write_text(json.dumps({"functions": [function], **BOUNDS}))
        runs: list[tuple[str, Path, Path | None]] = [
            ("no bound", plain, None), ("bounded, chained", bounded, None)]  # fmt: skip
        if args.baseline:
            source = checkout(args.baseline, root / "baseline")
            runs.append((f"bounded, one at a time ({args.baseline})", bounded, source))
        nats, url = nats_servers(root)
        try:
            for round_ in range(2):
                for name, registry, source in runs if round_ == 0 else runs[::-1]:
                    process, port = gateway(root, registry, base, url, 0,
                                            f"g{round_}-{len(rates)}", source=source)  # fmt: skip
                    try:
                        send(port, 50)  # the namespace's stream made, connections warm
                        began = time.monotonic()
                        send(port, args.n)
                        rates.setdefault(name, []).append(args.n / (time.monotonic() - began))
                    finally:
                        stop_all([process])
        finally:
            stop_all(nats)
    print(f"Event enqueue through one gateway, {args.n} events from 16 connections, "
          f"{os.cpu_count()} CPUs; 202s per second, two rounds:")  # fmt: skip
    for name, figures in rates.items():
        print(f"  {name}: " + ", ".join(f"{rate:,.0f}" for rate in figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
