"""The foundation: ideas every other package shares, in the standard library alone.

Lowest layer of all (see ``[tool.importlinter]`` in pyproject.toml): it imports
nothing of Kappa's and nothing outside the standard library, so that even the
in-pod agent, which pays for every import on a cold start, may use it.

- :mod:`kappa.base.arn`: Lambda-style ARNs of Functions (namespace as account).
- :mod:`kappa.base.clock`: the ``Clock`` interface and the process's real clocks.
- :mod:`kappa.base.env`: reading settings from environment variables, and the one
  ``SettingsError``.
- :mod:`kappa.base.relay_frames`: the frames of a streamed answer from an agent to
  the gateway (response streaming).
"""
