"""Python handlers run by the real awslambdaric behind the gateway in its integration tests."""

# ruff: noqa: T201 - Lambda handlers log with print, as most do

import base64
import os
import time


def echo(event, context):
    print(f"echo handler got {event!r}")
    client_context = context.client_context
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_arn": context.invoked_function_arn,
        "client_context": None
        if client_context is None
        else {"custom": client_context.custom, "env": client_context.env},
    }


def length(event, context):
    """The length of a string event: a reply far smaller than the payload it measures."""
    return {"length": len(event)}


def fail(event, context):
    print("about to fail")
    raise ValueError(f"bad thing: {event.get('why', 'no reason')}")


def maybe_fail(event, context):
    """Fail when the event says so (``{"fail": true}``), else answer ``ok``."""
    if event.get("fail"):
        raise RuntimeError("asked to fail")
    return "ok"


def interval(event, context):
    """Sleep, or hold until the file ``release`` names exists (60 s at most), and say when
    (wall clock) it started and ended, in which process, under which request id."""
    started = time.time()
    time.sleep(event.get("seconds", 0))
    if release := event.get("release"):
        _wait_for_file(release)
    return {
        "start": started,
        "end": time.time(),
        "pid": os.getpid(),
        "tag": event.get("tag"),
        "request_id": context.aws_request_id,
    }


def _wait_for_file(path):
    deadline = time.monotonic() + 60  # a hang guard: the test creates the file
    while not os.path.exists(path) and time.monotonic() < deadline:  # noqa: PTH110 - as a handler would
        time.sleep(0.02)


def http(event, context):
    """Answer an HTTP trigger event as the event asks (query `shape`)."""
    query = event.get("queryStringParameters") or {}
    shape = query.get("shape", "echo")
    if shape == "plain":
        return ["a", 1, None]
    if shape == "dict":
        return {"hello": "world"}
    if shape == "binary":
        return {
            "statusCode": 201,
            "headers": {"content-type": "image/png", "x-custom": "yes"},
            "cookies": ["a=1; Path=/", "b=2"],
            "body": base64.b64encode(b"\x89PNG\x00\xff").decode(),
            "isBase64Encoded": True,
        }
    if shape == "fail":
        raise RuntimeError("boom")
    if shape == "framing":  # a second response smuggled in the body, a length that lies
        return {
            "statusCode": 200,
            "headers": {
                "Transfer-Encoding": "chunked",
                "Content-Length": "9999",
                "Connection": "close",
                "x-kept": "yes",
            },
            "body": "0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nowned",
        }
    if shape == "crlf":
        return {"statusCode": 200, "headers": {"x-split": "a\r\nSet-Cookie: stolen=1"}}
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-echo": "1"},
        "body": __import__("json").dumps(event),
    }


def hold(event, context):
    """Run until the file the event names exists (the test lets it go; 60 s at most)."""
    _wait_for_file(event["release"])
    return {"padding": len(event.get("pad", ""))}
