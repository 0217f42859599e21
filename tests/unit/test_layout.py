"""Guards of the source layout that the design relies on."""

import sys
from pathlib import Path

import pytest

import kappa

pytestmark = pytest.mark.layout  # counted apart from behaviour (tests/groups.py)

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_ROOT = REPO_ROOT / "operator"
PACKAGE_DIR = SOURCE_ROOT / "kappa"

# Names that say nothing about what a module holds; the design asks for nouns.
GRAB_BAG_NAMES = frozenset({"utils", "util", "helpers", "misc", "common"})


def _module_names() -> list[str]:
    """Every module and package name inside kappa, as its last dotted component."""
    found = {path.stem for path in PACKAGE_DIR.rglob("*.py")}
    found |= {path.parent.name for path in PACKAGE_DIR.rglob("__init__.py")}
    return sorted(name for name in found if not name.startswith("__"))


def test_operator_folder_is_not_a_package() -> None:
    # A package named `operator` would shadow the stdlib module of that name.
    assert not (SOURCE_ROOT / "__init__.py").exists()


def test_kappa_is_imported_from_this_checkout() -> None:
    # A stale editable install of another clone would otherwise be tested silently.
    assert Path(kappa.__file__).resolve().parent == PACKAGE_DIR


def test_there_are_modules_to_check() -> None:
    assert {"kappa", "cli", "settings", "api", "names"} <= set(_module_names())


@pytest.mark.parametrize("name", _module_names())
def test_module_does_not_shadow_stdlib(name: str) -> None:
    assert name not in sys.stdlib_module_names


@pytest.mark.parametrize("name", _module_names())
def test_module_is_named_after_what_it_holds(name: str) -> None:
    assert name not in GRAB_BAG_NAMES


def test_package_ships_its_type_marker() -> None:
    assert (PACKAGE_DIR / "py.typed").is_file()


def test_the_function_pods_image_copies_every_package_the_agent_imports() -> None:
    """runtime-images/base/Dockerfile copies kappa's packages one by one (the rest never
    runs in a function pod): a package the agent or the command comes to import must be
    copied too, or every image build fails (found once, on tracing)."""
    import subprocess  # noqa: PLC0415 - this test alone starts a process

    script = (
        "import sys, kappa.agent.process, kappa.agent.pool_mode, kappa.cli.main;"
        "print(' '.join(sorted({m.split('.')[1] for m in sys.modules"
        " if m.startswith('kappa.') and m.count('.') >= 1})))"
    )
    found = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True, text=True, check=True, cwd=REPO_ROOT,
        env={"PYTHONPATH": str(SOURCE_ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    imported = set(found.stdout.split()) - {"__main__"}
    dockerfile = (REPO_ROOT / "runtime-images/base/Dockerfile").read_text()
    copied = {
        line.split()[1].removeprefix("operator/kappa/")
        for line in dockerfile.splitlines()
        if line.startswith("COPY operator/kappa/") and len(line.split()) == 3
    }
    assert imported <= copied, f"not copied into the base image: {sorted(imported - copied)}"
