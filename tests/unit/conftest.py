"""Every test under tests/unit is a unit test, so `-m unit` selects exactly this tier."""

from pathlib import Path

import pytest

_UNIT_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items, not only this folder's: filter by path.
    for item in items:
        if item.path.is_relative_to(_UNIT_DIR):
            item.add_marker(pytest.mark.unit)
