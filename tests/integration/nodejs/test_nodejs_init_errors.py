"""Handlers that cannot start: the runtime reports Lambda's init error and the agent ends with it.

aws-lambda-ric posts the error to /runtime/init/error; the agent writes
`{"errorType", "errorMessage"}` to the termination log (where the operator
reads it) and exits 1, never becoming ready: the same whether the agent starts the
runtime after its imports or the pod image's launcher starts it before them.
"""

from __future__ import annotations

import pytest

from tests.integration.agent.agent_harness import AGENT_ENTRY, LAUNCHER_ENTRY, StartAgent

pytestmark = pytest.mark.timeout(60, func_only=True)


def init_error(
    start_agent: StartAgent, handler: str, entry: tuple[str, ...] = AGENT_ENTRY
) -> dict[str, str]:
    agent = start_agent(handler, wait_ready=False, entry=entry)
    assert agent.exit_status(timeout=30) == 1
    early = "runtime started before the agent" in agent.output()
    assert early == (entry == LAUNCHER_ENTRY)
    assert "kappa-agent: ready" not in agent.output()
    return agent.termination_message()


@pytest.mark.parametrize(
    ("handler", "error_type", "message_start"),
    [
        pytest.param(
            "missing.handler",
            "Runtime.ImportModuleError",
            "Error: Cannot find module 'missing'\nRequire stack:\n",
            id="no-such-file",
        ),
        pytest.param(
            "missingdep.handler",
            "Runtime.ImportModuleError",
            "Error: Cannot find module 'left-pad-not-installed'\nRequire stack:\n",
            id="missing-dependency",
        ),
        pytest.param(
            "app.nope",
            "Runtime.HandlerNotFound",
            "app.nope is undefined or not exported",
            id="no-such-export",
        ),
        pytest.param(
            "app.notAFunction",
            "Runtime.HandlerNotFound",
            "app.notAFunction is not a function",
            id="export-not-a-function",
        ),
        pytest.param(
            "broken.handler",
            "Runtime.UserCodeSyntaxError",
            "SyntaxError: Unexpected token",
            id="syntax-error-cjs",
        ),
        pytest.param(
            "brokenesm.handler",
            "Runtime.UserCodeSyntaxError",
            "SyntaxError: Unexpected token",
            id="syntax-error-esm",
        ),
        pytest.param("app", "Runtime.MalformedHandlerName", "Bad handler", id="no-export-named"),
        pytest.param(
            "initthrows.handler", "Error", "init failed on purpose", id="throws-while-loading"
        ),
    ],
)
@pytest.mark.parametrize(
    "entry", [AGENT_ENTRY, LAUNCHER_ENTRY], ids=["agent-order", "launcher-order"]
)
def test_init_error(
    start_agent: StartAgent,
    handler: str,
    error_type: str,
    message_start: str,
    entry: tuple[str, ...],
) -> None:
    error = init_error(start_agent, handler, entry)
    assert error["errorType"] == error_type
    assert error["errorMessage"].startswith(message_start)


def test_missing_module_message_names_the_dependency_chain(start_agent: StartAgent) -> None:
    message = init_error(start_agent, "missingdep.handler")["errorMessage"]
    assert "/missingdep.js\n" in message  # the user's file that required it


def test_callback_handlers_are_not_refused(start_agent: StartAgent) -> None:
    # aws-lambda-ric 4.x refuses three-parameter handlers at init
    # (Runtime.CallbackHandlerDeprecated); Lambda's nodejs20.x/22.x run them.
    agent = start_agent("app.callback")
    assert agent.invoke({}).function_error is None
