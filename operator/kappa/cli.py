"""Command line entry point: ``kappa operator|gateway|agent|version``.

Wiring only. Each component is one subcommand of one executable so that a
single image can run the operator, the gateway and the in-pod agent.
Components that do not exist yet say so and exit non-zero instead of
pretending to start.
"""

import argparse
import sys
from collections.abc import Sequence

from kappa import __version__

# Exit status for a subcommand that is not built yet; 2 is argparse's own
# "usage error" status, the closest conventional meaning.
EXIT_NOT_IMPLEMENTED = 2

_PENDING_COMPONENTS = {
    "operator": "reconcile Function, EventSourceMapping and ConcurrencyQuota objects",
    "gateway": "serve the HTTP trigger and the Lambda Invoke API",
    "agent": "serve the Lambda Runtime API inside a function pod",
}


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kappa",
        description="AWS-Lambda-style functions on Kubernetes.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, summary in _PENDING_COMPONENTS.items():
        commands.add_parser(name, help=summary, description=summary)
    commands.add_parser("version", help="print the version and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the subcommand named in ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    Returning the status rather than exiting keeps ``main`` callable from tests;
    the console script and ``python -m kappa`` turn it into the process status.
    """
    args = _build_parser().parse_args(argv)
    command: str = args.command
    if command == "version":
        print(__version__)
        return 0
    print(f"not implemented yet: {command}", file=sys.stderr)
    return EXIT_NOT_IMPLEMENTED
