import pytest

from kappa.agent.start_env import NODE_READ_AT_START, PYTHON_READ_AT_START, inherit_problem

POOL = {"PATH": "/usr/bin", "LAMBDA_TASK_ROOT": "/var/task", "TZ": "UTC"}
NODE_POOL = {**POOL, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}


def test_a_function_that_only_adds_its_own_variables_may_fork_from_the_pool_zygote() -> None:
    wanted = {**POOL, "_HANDLER": "app.handler", "GREETING": "hi", "TZ": "Asia/Tokyo"}
    assert inherit_problem(POOL, wanted) is None


def test_variables_read_when_a_process_starts_must_be_the_pools() -> None:
    for name in ("PYTHONPATH", "PYTHONHASHSEED", "LD_PRELOAD", "AWS_LAMBDA_EXEC_WRAPPER", "LC_ALL"):
        problem = inherit_problem(POOL, {**POOL, name: "x"})
        assert problem is not None
        assert name in problem
    # Changed or taken away alike.
    assert inherit_problem(POOL, {**POOL, "PATH": "/opt/bin"}) is not None
    assert inherit_problem({**POOL, "PYTHONPATH": "/a"}, POOL) is not None


def test_the_problem_names_at_most_three_variables() -> None:
    wanted = {**POOL, "PYTHONA": "1", "PYTHONB": "1", "PYTHONC": "1", "PYTHOND": "1"}
    problem = inherit_problem(POOL, wanted)
    assert problem == "the Function sets PYTHONA, PYTHONB, PYTHONC, read when a runtime starts"


def test_an_environment_too_large_for_one_hand_over_starts_afresh() -> None:
    for rules in (PYTHON_READ_AT_START, NODE_READ_AT_START):
        problem = inherit_problem(POOL, {**POOL, "BIG": "x" * 70_000}, rules)
        assert problem is not None
        assert "environment" in problem
        assert inherit_problem(POOL, {**POOL, "BIG": "x" * 50_000}, rules) is None


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("NODE_OPTIONS", id="node-options"),
        pytest.param("NODE_PATH", id="module-paths"),
        pytest.param("NODE_EXTRA_CA_CERTS", id="ca-certificates"),
        pytest.param("UV_THREADPOOL_SIZE", id="libuv-threads"),
        pytest.param("LD_PRELOAD", id="loader"),
        pytest.param("AWS_LAMBDA_EXEC_WRAPPER", id="wrapper"),
        pytest.param("AWS_LAMBDA_MAX_CONCURRENCY", id="concurrent-client"),
        pytest.param("AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA", id="read-as-the-client-loads"),
        pytest.param("AWS_LAMBDA_RUNTIME_VERBOSE", id="client-verbosity"),
        pytest.param("OPENSSL_CONF", id="openssl"),
        pytest.param("MALLOC_ARENA_MAX", id="allocator"),
        pytest.param("LANG", id="locale"),
    ],
)
def test_what_node_its_bootstrap_or_its_client_read_at_start_needs_a_fresh_node(
    name: str,
) -> None:
    problem = inherit_problem(NODE_POOL, {**NODE_POOL, name: "x"}, NODE_READ_AT_START)
    assert problem is not None
    assert name in problem
    # Set alike in the pool and the Function: nothing to apply, the started one fits.
    same = {**NODE_POOL, name: "x"}
    assert inherit_problem(same, same, NODE_READ_AT_START) is None


def test_a_node_functions_size_must_be_the_pools_the_heap_is_sized_at_start() -> None:
    wanted = {**NODE_POOL, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}
    problem = inherit_problem(NODE_POOL, wanted, NODE_READ_AT_START)
    assert problem is not None
    assert "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" in problem
    # Python reads no heap size at start.
    assert inherit_problem(NODE_POOL, wanted, PYTHON_READ_AT_START) is None


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("TZ", id="node-applies-tz-assignments"),
        pytest.param("_HANDLER", id="handler"),
        pytest.param("AWS_LAMBDA_LOG_FORMAT", id="read-by-run"),
        pytest.param("AWS_LAMBDA_LOG_LEVEL", id="read-by-run-too"),
        pytest.param("AWS_LAMBDA_FUNCTION_NAME", id="context"),
        pytest.param("NODEJS_THING", id="not-a-node-prefix"),
    ],
)
def test_what_a_started_node_reads_later_may_differ(name: str) -> None:
    wanted = {**NODE_POOL, name: "Asia/Tokyo"}
    assert inherit_problem(NODE_POOL, wanted, NODE_READ_AT_START) is None
