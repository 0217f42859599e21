"""Every test under tests/integration runs real processes: `-m integration` selects this tier."""

from pathlib import Path

import pytest

_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(_DIR):
            item.add_marker(pytest.mark.integration)
