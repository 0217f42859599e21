"""Every test under tests/unit is a unit test, so `-m unit` selects exactly this tier."""

from pathlib import Path

import pytest
from hypothesis import settings

_UNIT_DIR = Path(__file__).parent

# `make mutation` (tests/mutation/run.py) runs with this profile: the same examples on
# every run, so a module's score does not change by chance.
settings.register_profile("mutation", derandomize=True, database=None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items, not only this folder's: filter by path.
    for item in items:
        if item.path.is_relative_to(_UNIT_DIR):
            item.add_marker(pytest.mark.unit)
