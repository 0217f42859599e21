"""A runtime that breaks the multi-concurrency contract, then serves: run as a `provided` bootstrap.

With AWS_LAMBDA_MAX_CONCURRENCY=2 it parks two /next calls, makes a third (too many)
and answers an id it was never given, writes the statuses it got to $HOSTILE_REPORT,
then serves its two loops as a well-behaved runtime: each call's answer is its event.
"""

import http.client
import json
import os
import threading
import time
from pathlib import Path

HOST, PORT = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
PREFIX = "/2018-06-01/runtime/invocation"


def call(method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(HOST, int(PORT), timeout=600)
    try:
        connection.request(method, PREFIX + path, body=body)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def serve() -> None:
    while True:
        status, headers, body = call("GET", "/next")
        if status != 200:
            time.sleep(0.05)
            continue
        request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        call("POST", f"/{request_id}/response", body)


loops = [threading.Thread(target=serve, daemon=True) for _ in range(2)]
for loop in loops:
    loop.start()
time.sleep(0.5)  # both loops wait in /next by now
report = {
    "third_next": call("GET", "/next")[0],
    "unknown_response": call("POST", "/not-a-request-id/response", b"{}")[0],
    "unknown_error": call("POST", "/not-a-request-id/error", b"{}")[0],
}
Path(os.environ["HOSTILE_REPORT"]).write_text(json.dumps(report))
for loop in loops:
    loop.join()
