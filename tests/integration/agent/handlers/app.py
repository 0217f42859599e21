"""Python handlers run by the real awslambdaric in the agent's integration tests."""

# ruff: noqa: T201, PTH109, PTH118, PTH123, PTH208 - handlers written as most are: print, os.path

import os
import sys
import time

COLD_START_PID = os.getpid()


def echo(event, context):
    print(f"echo handler got {event!r}")
    client_context = context.client_context
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_arn": context.invoked_function_arn,
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "now_ms": time.time_ns() // 1_000_000,  # with remaining_ms: the deadline it was given
        "client_context": None
        if client_context is None
        else {
            "custom": client_context.custom,
            "env": client_context.env,
            "installation_id": client_context.client.installation_id
            if client_context.client
            else None,
        },
        "pid": os.getpid(),
        "runtime_api": os.environ.get("AWS_LAMBDA_RUNTIME_API"),
        "kappa_vars": sorted(name for name in os.environ if name.startswith("KAPPA_")),
        "cwd": os.getcwd(),
    }


def fail(event, context):
    print("about to fail")
    raise ValueError(f"bad thing: {event.get('why', 'no reason')}")


def sleepy(event, context):
    time.sleep(event.get("seconds", 0))
    return {"pid": os.getpid(), "slept": event.get("seconds", 0)}


def rendezvous(event, context):
    """Arrive in the directory ``dir`` and wait until ``count`` calls have (30 s at most)."""
    directory = event["dir"]
    open(os.path.join(directory, str(os.getpid())), "w").close()
    deadline = time.monotonic() + 30  # a hang guard: the other calls arrive at once
    while len(os.listdir(directory)) < event["count"] and time.monotonic() < deadline:
        time.sleep(0.01)
    return {"pid": os.getpid(), "met": len(os.listdir(directory))}


def big(event, context):
    return "x" * event["size"]


def noisy(event, context):
    for index in range(event["lines"]):
        print(f"line {index:05d} " + "." * 90)
    sys.stdout.flush()
    return "done"


def crash(event, context):
    print("crashing now")
    os._exit(3)


def leveled(event, context):
    """One record at each level through the logging module, as a handler logs."""
    import logging  # noqa: PLC0415 - only this handler logs through it

    logger = logging.getLogger()
    logger.debug("a debug record")
    logger.info("an info record")
    logger.warning("a warning record")
    logger.error("an error record")
    return "logged"
