"""The repository's pytest plugins, for every tier (tests/ and e2e/)."""

pytest_plugins = ("tests.groups",)
