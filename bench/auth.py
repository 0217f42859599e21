"""Added latency of authentication with a warm cache: the gateway's GetFunction, side by side,
with authentication off, with a bearer token, and with a SigV4 signature.

Three gateway processes (the real `kappa.gateway.app.Gateway` and its middleware, one
registered Function, no agent: GetFunction is answered from the registry) start on
loopback; one client then sends N sequential GetFunction calls to each, interleaved in
rounds of 100 so that the three see the same machine. The cluster's TokenReview and
SubjectAccessReview are stood in for by a table (`StandIn`): with a warm cache they are
not called at all after the first request, which the servers report. SigV4 requests are
signed before the clock starts (signing is the client's cost). Prints p50/p99 per mode and
the difference to "off"; asserts nothing.

    .venv/bin/python bench/auth.py [-n 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import re
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from gateway_latency import quantile, start  # this folder's: the same process harness

from kappa.auth.access_keys import AccessKey
from kappa.auth.guard import Guard
from kappa.auth.sigv4 import sign
from kappa.auth.subject import Subject, service_account
from kappa.gateway.app import Gateway
from kappa.gateway.settings import GatewaySettings
from kappa.invocation.registry import StaticRegistry

KEY_ID, SECRET = "KAPPABENCH0000000001", "bench-secret-0000000000"
TOKEN = "bench-token"  # noqa: S105 - a stand-in token
PATH = "/2015-03-31/functions/default%2Fnoop"
MODES = ("off", "bearer", "sigv4")


def serve(mode: str, registry: Path) -> None:
    """One gateway (in this process) with authentication ``mode``."""
    calls = {"token": 0, "access": 0, "key": 0}
    subject = service_account("default", "bench")

    class StandIn:
        async def token(self, token: str) -> Subject | None:
            calls["token"] += 1
            return subject if token == TOKEN else None

        async def access(self, _subject: Subject, _access: object) -> bool:
            calls["access"] += 1
            return True

        async def key(self, key_id: str) -> AccessKey | None:
            calls["key"] += 1
            return AccessKey(KEY_ID, SECRET, subject, "bench") if key_id == KEY_ID else None

    settings = GatewaySettings(host="127.0.0.1", port=0)
    static = StaticRegistry()
    static.load(registry, settings.region)
    guard = Guard(None if mode == "off" else StandIn(), region=settings.region)
    gateway = Gateway(settings, static, guard=guard)

    async def run() -> None:
        runner = web.AppRunner(gateway.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"listening on 127.0.0.1:{runner.addresses[0][1]}", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        print(f"review calls: {json.dumps(calls)}", flush=True)
        await runner.cleanup()

    asyncio.run(run())


def headers_for(mode: str, port: int) -> dict[str, str]:
    if mode == "bearer":
        return {"Authorization": f"Bearer {TOKEN}"}
    if mode == "sigv4":
        signed = sign(method="GET", url=f"http://127.0.0.1:{port}{PATH}", headers=[], body=b"",
                      access_key_id=KEY_ID, secret_access_key=SECRET, region="us-east-1",
                      service="lambda", now=datetime.now(UTC))  # fmt: skip
        return dict(signed)
    return {}


def one(connection: http.client.HTTPConnection, mode: str, port: int) -> float:
    headers = headers_for(mode, port)  # before the clock: signing is the client's cost
    started = time.perf_counter()
    connection.request("GET", PATH, headers=headers)
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise SystemExit(f"{mode}: {response.status}")
    return elapsed * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        registry = root / "registry.json"
        registry.write_text(json.dumps({"functions": [{"name": "noop", "handler": "a.h"}]}))
        servers = {
            mode: start([sys.executable, __file__, "serve", mode, str(registry)],
                        dict(os.environ), root, root / f"{mode}.log")
            for mode in MODES
        }  # fmt: skip
        connections = {m: http.client.HTTPConnection("127.0.0.1", p, timeout=30)
                       for m, (_, p) in servers.items()}  # fmt: skip
        samples: dict[str, list[float]] = {mode: [] for mode in MODES}
        try:
            for mode in MODES:  # warm-up: connections, caches
                for _ in range(200):
                    one(connections[mode], mode, servers[mode][1])
            rounds, size = args.n // 100, 100
            for _ in range(rounds):
                for mode in MODES:
                    port = servers[mode][1]
                    samples[mode] += [one(connections[mode], mode, port) for _ in range(size)]
        finally:
            for connection in connections.values():
                connection.close()
            for process, _ in servers.values():
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=10)
        off = samples["off"]
        print(f"GetFunction through the gateway, {len(off)} sequential calls per mode, "
              "interleaved; ms")  # fmt: skip
        print(f"{'mode':<8} {'p50':>7} {'p99':>7} {'p50 added':>10} {'p99 added':>10}")
        for mode in MODES:
            got = samples[mode]
            print(f"{mode:<8} {quantile(got, 0.5):7.3f} {quantile(got, 0.99):7.3f} "
                  f"{quantile(got, 0.5) - quantile(off, 0.5):10.3f} "
                  f"{quantile(got, 0.99) - quantile(off, 0.99):10.3f}")  # fmt: skip
        for mode in MODES[1:]:
            reviews = re.search(r"review calls: (.*)", (root / f"{mode}.log").read_text())
            print(f"{mode}: calls to the stand-in reviews over the run: "
                  f"{reviews.group(1) if reviews else '?'} (token and access would be API "
                  "requests; key is the in-memory key table's lookup)")  # fmt: skip
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], Path(sys.argv[3]))
    else:
        sys.exit(main())
