"""`make mutation`: mutmut over the pure core, one worker, and the score per module.

The modules and the unit tests that judge each are in ``modules.toml`` beside this
file; mutants that cannot be killed because they do not change behaviour are in
``equivalent.toml``, each with its reason, and count neither as killed nor as
survived. mutmut works in a staged copy (``.mutation/``: the modules under
``kappa/``, the unit tests, the pytest settings), since it expects the package at
the top of the folder it runs in and this repository keeps it under ``operator/``.

    python tests/mutation/run.py            # a fresh run, then the report
    python tests/mutation/run.py --report   # the report of the last run only
    python tests/mutation/run.py --survivors  # and the diff of every survivor
    python tests/mutation/run.py --again    # new tests against the last run's survivors only
    python tests/mutation/run.py --only kappa/api/cron.py  # a fresh run of one module

``--again`` is for the loop of killing survivors: a test added can only kill more, so
rerunning the survivors of a fresh run with the tests of now gives that run's score.
Production code changed since the fresh run needs a fresh run.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
STAGE = ROOT / ".mutation"
GOAL = 0.90

# mutmut's exit codes of a mutant's test run (mutmut/stats.py): these mean a test failed.
KILLED = {1, 3, 24, -24, 36, 37, 152, 255}


@dataclass
class Score:
    """One module's mutants by fate."""

    module: str
    killed: list[str] = field(default_factory=list)
    survived: list[str] = field(default_factory=list)
    equivalent: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)

    @property
    def judged(self) -> int:
        return len(self.killed) + len(self.survived)

    @property
    def ratio(self) -> float:
        return len(self.killed) / self.judged if self.judged else 1.0


def load_modules() -> dict[str, list[str]]:
    data = tomllib.loads((HERE / "modules.toml").read_text())
    return {path: entry["tests"] for path, entry in data["modules"].items()}


def load_equivalent() -> dict[str, str]:
    data = tomllib.loads((HERE / "equivalent.toml").read_text())
    return {entry["mutant"]: entry["reason"] for entry in data.get("equivalent", [])}


def stage(modules: dict[str, list[str]]) -> None:
    """A fresh copy of the package, the unit tests and the settings, with mutmut's config."""
    shutil.rmtree(STAGE, ignore_errors=True)
    STAGE.mkdir()
    shutil.copytree(
        ROOT / "operator" / "kappa", STAGE / "kappa", ignore=shutil.ignore_patterns("__pycache__")
    )
    (STAGE / "tests").mkdir()
    shutil.copy2(ROOT / "tests" / "__init__.py", STAGE / "tests" / "__init__.py")
    shutil.copytree(
        ROOT / "tests" / "unit",
        STAGE / "tests" / "unit",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    tests = sorted({test for files in modules.values() for test in files})
    config = {
        "source_paths": ["kappa"],
        "only_mutate": list(modules),
        "pytest_add_cli_args_test_selection": tests,
        # Hypothesis draws the same examples every time, so a score does not change by chance.
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "--hypothesis-profile=mutation", "-q"],
        "use_git_change_detection": False,
    }
    lines = [f"{key} = {json.dumps(value)}" for key, value in config.items()]
    pyproject = (ROOT / "pyproject.toml").read_text()
    (STAGE / "pyproject.toml").write_text(pyproject + "\n[tool.mutmut]\n" + "\n".join(lines) + "\n")


def restage_tests() -> None:
    """The unit tests of now in the staged copy, for ``--again``."""
    target = STAGE / "tests" / "unit"
    shutil.rmtree(target)
    shutil.copytree(ROOT / "tests" / "unit", target, ignore=shutil.ignore_patterns("__pycache__"))


def run_mutmut(names: list[str]) -> int:
    mutmut = Path(sys.executable).parent / "mutmut"
    # The staged copy is the package mutmut imports: no PYTHONPATH pointing at a checkout.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    # One worker: the machine is shared with other work; see TESTING.md for the time it takes.
    command = [str(mutmut), "run", "--max-children", "1", *names]
    return subprocess.run(command, cwd=STAGE, env=env, check=False).returncode


def scores(modules: dict[str, list[str]], equivalent: dict[str, str]) -> list[Score]:
    result = []
    for path in modules:
        meta = STAGE / "mutants" / f"{path}.meta"
        score = Score(module=path)
        if meta.exists():
            exit_codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
            for name, code in sorted(exit_codes.items()):
                if name in equivalent:
                    score.equivalent.append(name)
                elif code is None:
                    score.unchecked.append(name)
                elif code in KILLED:
                    score.killed.append(name)
                else:
                    score.survived.append(name)
        result.append(score)
    return result


def report(results: list[Score], equivalent: dict[str, str], *, show_diffs: bool) -> bool:
    """Print the table; true when every module reaches the goal."""
    print(f"\n{'module':<40} {'killed':>7} {'surv.':>6} {'equiv.':>6} {'score':>7}")
    for score in results:
        mark = "" if score.ratio >= GOAL else "  < goal"
        print(
            f"{score.module:<40} {len(score.killed):>7} {len(score.survived):>6} "
            f"{len(score.equivalent):>6} {score.ratio:>7.1%}{mark}"
        )
    killed = sum(len(s.killed) for s in results)
    judged = sum(s.judged for s in results)
    print(
        f"{'all':<40} {killed:>7} {judged - killed:>6} {sum(len(s.equivalent) for s in results):>6}"
        f" {killed / max(judged, 1):>7.1%}"
    )
    unchecked = sum(len(s.unchecked) for s in results)
    if unchecked:
        print(f"{unchecked} mutants were not checked: the run did not finish")
    known = {name for s in results for name in s.killed + s.survived + s.equivalent + s.unchecked}
    # Only the modules this stage holds mutants of (a run with --only stages fewer).
    staged = tuple(
        s.module.removesuffix(".py").replace("/", ".") + "."
        for s in results
        if s.judged or s.equivalent or s.unchecked
    )
    for name in sorted(n for n in set(equivalent) - known if n.startswith(staged)):
        print(f"equivalent.toml names a mutant that no longer exists: {name}")
    for score in results:
        for name in score.survived:
            print(f"survived: {name}")
            if show_diffs:
                mutmut = Path(sys.executable).parent / "mutmut"
                subprocess.run([str(mutmut), "show", name], cwd=STAGE, check=False)
    return not unchecked and all(score.ratio >= GOAL for score in results)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--report", action="store_true", help="only report the last run")
    parser.add_argument("--survivors", action="store_true", help="show each survivor's diff")
    parser.add_argument("--again", action="store_true", help="rerun the last run's survivors")
    parser.add_argument(
        "--only",
        action="append",
        metavar="MODULE",
        help="a fresh run of this module of modules.toml only (repeatable), e.g. kappa/api/cron.py",
    )
    args = parser.parse_args()
    modules = load_modules()
    if args.only:
        unknown = sorted(set(args.only) - set(modules))
        if unknown:
            parser.error(f"not in modules.toml: {', '.join(unknown)}")
        modules = {path: tests for path, tests in modules.items() if path in args.only}
    equivalent = load_equivalent()
    if not args.report:
        names: list[str] = []
        if args.again:
            restage_tests()
            names = [n for s in scores(modules, equivalent) for n in s.survived + s.unchecked]
        else:
            stage(modules)
        started = time.monotonic()
        code = run_mutmut(names)
        print(f"mutmut finished (exit {code}) in {time.monotonic() - started:.0f} s")
    ok = report(scores(modules, equivalent), equivalent, show_diffs=args.survivors)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
