"""Command line entry point: ``kappa operator|gateway|agent|crds|version``.

Wiring only. Each component is one subcommand of one executable so that a
single image can run the operator, the gateway and the in-pod agent.
"""

import argparse
from collections.abc import Sequence
from pathlib import Path

from kappa import __version__

_GATEWAY_SUMMARY = "serve the HTTP trigger and the Lambda Invoke API"
_OPERATOR_SUMMARY = "reconcile Function objects into pods (kopf; uses KUBECONFIG or in-cluster)"
_AGENT_SUMMARY = "serve the Lambda Runtime API and /invoke inside a function pod"


_CRDS_SUMMARY = "print Kappa's CustomResourceDefinitions as YAML"
_REFERENCE_SUMMARY = "print the API reference (Markdown) rendered from the CRDs in a directory"


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kappa",
        description="AWS-Lambda-style functions on Kubernetes.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    gateway = commands.add_parser("gateway", help=_GATEWAY_SUMMARY, description=_GATEWAY_SUMMARY)
    gateway.add_argument(
        "--registry",
        type=Path,
        metavar="FILE",
        help=(
            "serve the Functions and pods listed in this JSON file (re-read when it changes); "
            "without it, watch them in the cluster (in-cluster service account, else KUBECONFIG)"
        ),
    )
    commands.add_parser("agent", help=_AGENT_SUMMARY, description=_AGENT_SUMMARY)
    commands.add_parser("operator", help=_OPERATOR_SUMMARY, description=_OPERATOR_SUMMARY)
    crds = commands.add_parser(
        "crds", help=_CRDS_SUMMARY, description=f"{_CRDS_SUMMARY} (generated from kappa.api)."
    )
    crds.add_argument(
        "--out", type=Path, metavar="DIR", help="write one DIR/<name>.yaml per CRD instead"
    )
    reference = commands.add_parser(
        "reference", help=_REFERENCE_SUMMARY, description=f"{_REFERENCE_SUMMARY}."
    )
    reference.add_argument(
        "--crds", type=Path, default=Path("crds"), metavar="DIR", help="CRD YAML files (crds/)"
    )
    reference.add_argument(
        "--out", type=Path, metavar="FILE", help="write FILE (docs/reference.md) instead"
    )
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
    if command == "crds":
        return _crds(args.out)
    if command == "reference":
        return _reference(args.crds, args.out)
    if command == "agent":
        # Imported on use: the agent's cold start pays for its own modules only.
        from kappa.agent.app import main as agent_main  # noqa: PLC0415

        return agent_main()
    if command == "operator":
        from kappa.controller.main import main as operator_main  # noqa: PLC0415

        return operator_main()
    # The gateway is the only command left.
    from kappa.gateway.app import main as gateway_main  # noqa: PLC0415

    registry: Path | None = args.registry
    return gateway_main(registry)


def _crds(out: Path | None) -> int:
    # Imported on use, as the agent is: pydantic and YAML are no part of other commands' start.
    from kappa.api import crd  # noqa: PLC0415

    documents = [(crd.file_name(c), crd.render(c)) for c in crd.all_crds()]
    if out is None:
        print("---\n".join(text for _, text in documents), end="")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for name, text in documents:
        (out / name).write_text(text, encoding="utf-8")
        print(out / name)
    return 0


def _reference(crds: Path, out: Path | None) -> int:
    import yaml  # noqa: PLC0415 - as in _crds: no part of other commands' start

    from kappa.api.reference import render_reference  # noqa: PLC0415

    documents = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(crds.glob("*.yaml"))]
    text = render_reference(
        [d for d in documents if d and d.get("kind") == "CustomResourceDefinition"]
    )
    if out is None:
        print(text, end="")
    else:
        out.write_text(text, encoding="utf-8")
    return 0
