from pathlib import Path

from kappa.agent.zygote import inherit_problem, top_level_modules

POOL = {"PATH": "/usr/bin", "LAMBDA_TASK_ROOT": "/var/task", "TZ": "UTC"}


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


def test_an_environment_too_large_for_one_fork_request_starts_afresh() -> None:
    problem = inherit_problem(POOL, {**POOL, "BIG": "x" * 70_000})
    assert problem is not None
    assert "environment" in problem


def test_the_task_roots_top_level_modules_are_what_import_would_find(tmp_path: Path) -> None:
    (tmp_path / "simplejson").mkdir()
    (tmp_path / "simplejson-3.19.3.dist-info").mkdir()
    (tmp_path / "app.py").write_text("")
    (tmp_path / "fast.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    (tmp_path / "README.md").write_text("")
    (tmp_path / "bootstrap").write_text("")
    assert top_level_modules(tmp_path) == {"simplejson", "app", "fast"}
    assert top_level_modules(tmp_path / "absent") == frozenset()
