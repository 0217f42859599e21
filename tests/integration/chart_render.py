"""The chart as ``helm template`` renders it, with the real helm of
e2e/local/build-tools.sh (built once, cached): what an installation would apply."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


def helm_template(*settings: str, show_only: str | None = None) -> subprocess.CompletedProcess[str]:
    """``helm template`` of charts/kappa with ``--set`` each setting (not checked: a refusal
    is a result too)."""
    tools = subprocess.run([str(REPO / "e2e/local/build-tools.sh")], capture_output=True,
                           text=True, check=True, timeout=600).stdout.strip()  # fmt: skip
    argv = [f"{tools}/helm", "template", "kappa", str(REPO / "charts/kappa"),
            "--namespace", "kappa-system"]  # fmt: skip
    if show_only:
        argv += ["--show-only", show_only]
    for setting in settings:
        argv += ["--set", setting]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)


def rendered(*settings: str, show_only: str | None = None) -> list[dict[str, Any]]:
    """The chart's objects, in the order helm renders (and installs) them."""
    result = helm_template(*settings, show_only=show_only)
    assert result.returncode == 0, result.stderr
    return [item for item in yaml.safe_load_all(result.stdout) if item]


def by_kind_and_name(*settings: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The chart's objects rendered with ``settings``, by (kind, name)."""
    return {(item["kind"], item["metadata"]["name"]): item for item in rendered(*settings)}
