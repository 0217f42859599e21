"""The ``kappa`` command (and ``kubectl kappa``): the server processes and the author's commands.

Layer: the top of the package, above every process (import-linter's layers contract);
wiring only. ``main`` holds the parser and the server subcommands; ``author`` the
commands a function's author runs (``init``, ``deploy``, ``invoke``, ``logs``, ``url``),
over the pure ``scaffold``, ``project`` and ``manifest`` and the shells ``package``
(pip, npm, zip), ``cluster`` (the Kubernetes API) and ``gateway_client`` (the gateway,
reached directly or through a port-forward). Every module imports the heavy libraries
on use: the in-pod agent's image runs this package too.
"""

from kappa.cli.main import main

__all__ = ["main"]
