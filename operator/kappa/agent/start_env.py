"""Which of a Function's variables only a process start applies. Pure.

A warm pool's pod starts a runtime before any Function claims it: a python zygote
(:mod:`kappa.agent.zygote`) that forks the Function's runtimes, or a node process per
slot (:mod:`kappa.agent.prestart`) that waits to be handed the Function. Each takes
the Function's environment in place of the pool's once claimed, which is the same as
a fresh start except for what the interpreter, the dynamic loader, the runtime's
bootstrap or its client read once, when the process starts. A Function that sets any
of those otherwise than the pool gets runtimes started afresh.

And the one variable a runtime gets from its slot: its Runtime API's address.
"""

import json
from collections.abc import Mapping
from typing import Final

# Read once, when a process starts (prefixes of names): the dynamic loader's, the
# bootstrap's (an exec wrapper, the task root, the runtime directory), the search path
# a bootstrap runs its commands with, and the locale.
_COMMON: Final = ("LD_", "AWS_LAMBDA_EXEC_WRAPPER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
                  "PATH", "LANG", "LC_")  # fmt: skip
PYTHON_READ_AT_START: Final = ("PYTHON", *_COMMON)
NODE_READ_AT_START: Final = (
    *_COMMON,
    "NODE_",  # NODE_OPTIONS, NODE_PATH (the module paths), NODE_EXTRA_CA_CERTS, NODE_ICU_DATA...
    "PWD",  # the bootstrap's shell sets it from its directory
    "UV_",  # libuv's thread pool, sized once
    "OPENSSL_",  # node loads OpenSSL's configuration when it starts
    "MALLOC_",  # glibc's allocator tunables
    "GLIBC_TUNABLES",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",  # the bootstrap's V8 heap flags
    "AWS_LAMBDA_MAX_CONCURRENCY",  # the bootstrap's choice of client
    "AWS_LAMBDA_NODEJS_",  # read by aws-lambda-ric when it loads (no global awslambda...)
    "AWS_LAMBDA_RUNTIME_VERBOSE",  # read by aws-lambda-ric when it loads
)
# An environment handed to a started process over one message: bounded, and a fresh
# process's exec has limits of its own (128 KiB a variable) that an assignment has not.
MAX_HANDED_ENVIRON: Final = 60 * 1024


def inherit_problem(
    started: Mapping[str, str],
    wanted: Mapping[str, str],
    read_at_start: tuple[str, ...] = PYTHON_READ_AT_START,
) -> str | None:
    """Why a runtime started with ``started`` cannot take on ``wanted``; None if it can.

    A variable of ``read_at_start`` (prefixes) that the Function sets otherwise than the
    started process had, or takes away, would be silently ignored; so would an
    environment over ``MAX_HANDED_ENVIRON`` bytes (as JSON).
    """
    changed = sorted(
        name
        for name in {*started, *wanted}
        if started.get(name) != wanted.get(name) and name.startswith(read_at_start)
    )
    if changed:
        return f"the Function sets {', '.join(changed[:3])}, read when a runtime starts"
    size = len(json.dumps(dict(wanted)).encode())
    if size > MAX_HANDED_ENVIRON:
        return (
            f"the Function's environment ({size} bytes) is over {MAX_HANDED_ENVIRON} "
            "for a runtime started ahead"
        )
    return None


def runtime_api_env(env: Mapping[str, str], port: int) -> dict[str, str]:
    """A runtime's environment with the address of its slot's Runtime API."""
    result = dict(env)
    result["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{port}"
    return result
