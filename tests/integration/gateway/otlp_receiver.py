"""An in-test OTLP/HTTP receiver: ``POST /v1/traces`` with JSON, every span kept."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: int
    attributes: dict[str, Any]
    status: dict[str, Any]


@dataclass
class Receiver:
    url: str = ""
    spans: list[ReceivedSpan] = field(default_factory=list)
    requests: int = 0
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def take(self, body: dict[str, Any]) -> None:
        with self._changed:
            self.requests += 1
            for resource_spans in body["resourceSpans"]:
                attributes = _attributes(resource_spans["resource"]["attributes"])
                for scope in resource_spans["scopeSpans"]:
                    for span in scope["spans"]:
                        self.spans.append(
                            ReceivedSpan(
                                service=attributes["service.name"],
                                trace_id=span["traceId"],
                                span_id=span["spanId"],
                                parent_span_id=span.get("parentSpanId") or None,
                                name=span["name"],
                                kind=span["kind"],
                                attributes=_attributes(span.get("attributes", [])),
                                status=span.get("status", {}),
                            )
                        )
            self._changed.notify_all()

    def wait_for(
        self, found: Callable[[list[ReceivedSpan]], bool], timeout: float = 30
    ) -> list[ReceivedSpan]:
        """Every span so far, once ``found`` says they are enough (a deadline against a hang)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not found(self.spans):
                left = deadline - time.monotonic()
                assert left > 0, f"spans never arrived; got {self.spans}"
                self._changed.wait(min(left, 0.2))
            return list(self.spans)


def _attributes(items: list[dict[str, Any]]) -> dict[str, Any]:
    result = {}
    for item in items:
        ((kind, value),) = item["value"].items()
        result[item["key"]] = int(value) if kind == "intValue" else value
    return result


@contextmanager
def otlp_receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = self.rfile.read(length)
            ok = self.path == "/v1/traces" and self.headers["Content-Type"] == "application/json"
            if ok:
                receiver.take(json.loads(body))
            self.send_response(200 if ok else 400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
