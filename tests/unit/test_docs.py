"""The docs against the code: every `make` target they name exists, and the API reference
is the one the CRDs in crds/ render (`make docs` regenerates it)."""

import re
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml

from kappa.api.reference import render_reference

pytestmark = pytest.mark.layout  # counted apart from behaviour (tests/groups.py)

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted(
    [REPO / "README.md", *(REPO / "docs").rglob("*.md"), *(REPO / "examples").rglob("*.md")]
)
_TARGET = re.compile(r"^([a-z][a-z0-9-]*):", re.MULTILINE)
# `make foo`, `make -s foo`, `make foo BAR=1`, `make foo bar`, `make bench-*`: the words
# after `make` (a `*` stands for any target that matches).
_MAKE = re.compile(r"\bmake((?:\s+-\w+)*)((?:\s+[a-z][a-z0-9*-]*)+)")


def make_targets() -> set[str]:
    return set(_TARGET.findall((REPO / "Makefile").read_text()))


def named_targets(text: str) -> set[str]:
    return {word for match in _MAKE.finditer(text) for word in match.group(2).split()}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("run `make up`, then", {"up"}, id="backticks"),
        pytest.param("url=$(make -s gateway-url)", {"gateway-url"}, id="silent-flag"),
        pytest.param("make cluster-up KWOK_NODES=100", {"cluster-up"}, id="variable"),
        pytest.param("make crds operator gateway", {"crds", "operator", "gateway"}, id="several"),
        pytest.param("to make Kappa", set(), id="prose-capitalised"),
        pytest.param("benchmarks (`make bench-*`)", {"bench-*"}, id="glob"),
    ],
)
def test_named_targets(text: str, expected: set[str]) -> None:
    assert named_targets(text) == expected


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_make_target_named_in_the_docs_exists(document: Path) -> None:
    targets = make_targets()
    unknown = {
        name
        for name in named_targets(document.read_text())
        if not any(fnmatch(target, name) for target in targets)
    }
    assert unknown == set(), f"{document.relative_to(REPO)} names missing make targets"


def test_api_reference_is_up_to_date() -> None:
    crds = [yaml.safe_load(p.read_text()) for p in sorted((REPO / "crds").glob("*.yaml"))]
    expected = render_reference(crds)
    assert (REPO / "docs/reference.md").read_text() == expected, "run `make docs`"


# [text](target) with a relative target (no scheme, not an anchor of the same page).
_LINK = re.compile(r"\]\((?![a-z][a-z0-9+.-]*:|#)([^)\s]+)\)")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_names_a_file_inside_the_repository(document: Path) -> None:
    for target in _LINK.findall(document.read_text()):
        path = (document.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(REPO), f"{target} leads outside the repository"
        assert path.exists(), f"{target} does not exist"
