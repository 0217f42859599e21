"""Command line entry point: every ``kappa`` subcommand.

The server processes (``operator``, ``gateway``, ``agent``, ``poller``, ``codestore``), ``crds``,
``reference``, ``dlq``, ``access-key``, ``version``, and the author's commands
(``init``, ``deploy``, ``invoke``, ``logs``, ``url``: ``author``).

Wiring only. Each component is one subcommand of one executable so that a
single image can run the operator, the gateway and the in-pod agent.
"""

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

from kappa import __version__
from kappa.cli import author

_GATEWAY_SUMMARY = "serve the HTTP trigger and the Lambda Invoke API"
_OPERATOR_SUMMARY = "reconcile Function objects into pods (kopf; uses KUBECONFIG or in-cluster)"
_AGENT_SUMMARY = "serve the Lambda Runtime API and /invoke inside a function pod"
_POLLER_SUMMARY = "feed a Function from one EventSourceMapping's source (a poller pod)"
_CODESTORE_SUMMARY = "keep code packages by sha256 on a volume for function pods (the code store)"
_CRDS_SUMMARY = "print Kappa's CustomResourceDefinitions as YAML"
_REFERENCE_SUMMARY = "print the API reference (Markdown) rendered from the CRDs in a directory"


_EXECUTION_STATUSES: Final = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED")


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
    commands.add_parser("codestore", help=_CODESTORE_SUMMARY, description=_CODESTORE_SUMMARY)
    crds = commands.add_parser(
        "crds", help=_CRDS_SUMMARY, description=f"{_CRDS_SUMMARY} (generated from kappa.api)."
    )
    crds.add_argument(
        "--out", type=Path, metavar="DIR", help="write one DIR/<name>.yaml per CRD instead"
    )
    poller = commands.add_parser("poller", help=_POLLER_SUMMARY, description=_POLLER_SUMMARY)
    poller.add_argument(
        "--mapping",
        type=Path,
        metavar="FILE",
        help="run the EventSourceMapping in this JSON file, reporting on stdout "
        "(default: KAPPA_ESM_MAPPING, reporting to the mapping's status)",
    )
    poller.add_argument("--gateway", metavar="URL", help="the gateway's base URL")
    poller.add_argument(
        "--state", type=Path, metavar="FILE", help="with --mapping: keep the sources' state here"
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
    _add_dlq(commands)
    _add_executions(commands)
    _add_access_key(commands)
    author.add_commands(commands)
    return parser


def _add_dlq(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """``kappa dlq ...`` (run by kappa.asyncq.dlq_client, imported on use)."""
    summary = "list, inspect, redrive or delete dead-lettered async events"
    dlq = commands.add_parser("dlq", help=summary, description=summary)
    actions = dlq.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--token",
        help="a Kubernetes token for audience kappa (default: $KAPPA_TOKEN; else the "
        "access keys in $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY sign the request)",
    )
    common.add_argument("-n", "--namespace", default="default", help="namespace (default)")
    common.add_argument(
        "--gateway",
        default=None,
        help="gateway URL (KAPPA_GATEWAY_URL, else http://127.0.0.1:8000)",
    )
    listing = actions.add_parser("list", parents=[common], help="list dead-lettered events")
    listing.add_argument("--function", help="only this Function's")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (1-1000)")
    listing.add_argument("--marker", type=int, default=0, help="start after this sequence")
    for action, summary in (("show", "one event, with its payload"), ("delete", "remove one")):
        actions.add_parser(action, parents=[common], help=summary).add_argument(
            "sequence", type=int
        )
    redrive = actions.add_parser(
        "redrive", parents=[common], help="queue events again (new request ids)"
    )
    redrive.add_argument("sequences", type=int, nargs="*", help="these events")
    redrive.add_argument("--function", help="every event of this Function")
    redrive.add_argument("--all", action="store_true", help="every event of the namespace")


def _add_executions(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """``kappa executions FUNCTION`` (run by kappa.cli.executions, imported on use)."""
    summary = "list a durable Function's executions: status, current step, next wake-up"
    usage = (
        "kappa executions FUNCTION [-n NS] [--status S] [--qualifier Q]\n"
        "       kappa executions show ARN | stop ARN\n"
        "       kappa executions callback CALLBACK_ID --succeed JSON | --fail MSG | --heartbeat"
    )
    parser = commands.add_parser("executions", help=summary, description=summary, usage=usage)
    parser.add_argument("function", help="the durable Function's name, or show, stop, callback")
    parser.add_argument("target", nargs="?", help="the execution's ARN, or the callback id")
    parser.add_argument("-n", "--namespace", default="default", help="namespace (default)")
    parser.add_argument("--status", action="append", choices=_EXECUTION_STATUSES, help="only these")
    parser.add_argument("--qualifier", default="", help="only this version ($LATEST, 3...)")
    answer = parser.add_mutually_exclusive_group()
    answer.add_argument("--succeed", metavar="JSON", help="callback: succeed with this result")
    answer.add_argument("--fail", metavar="MSG", help="callback: fail with this error message")
    answer.add_argument("--heartbeat", action="store_true", help="callback: a heartbeat")
    parser.add_argument("--limit", type=int, default=100, help="at most this many (1-1000)")
    parser.add_argument("--marker", default="", help="where the previous page ended")
    parser.add_argument(
        "--token",
        help="a Kubernetes token for audience kappa (default: $KAPPA_TOKEN; else the "
        "access keys in $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY sign the request)",
    )
    parser.add_argument(
        "--gateway",
        default=None,
        help="gateway URL (KAPPA_GATEWAY_URL, else http://127.0.0.1:8000)",
    )


def _add_access_key(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """``kappa access-key create ...`` (docs/security.md)."""
    summary = "make an access key (SigV4, for boto3 and the AWS CLI) that acts as a subject"
    keys = commands.add_parser("access-key", help=summary, description=summary)
    actions = keys.add_subparsers(dest="key_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="a new key, as a Secret in Kappa's namespace")
    create.add_argument("name", help="the Secret's name")
    who = create.add_mutually_exclusive_group(required=True)
    who.add_argument("--service-account", metavar="NAMESPACE/NAME", help="act as this SA")
    who.add_argument("--user", help="act as this user (RBAC subjects of kind User)")
    create.add_argument("--groups", default="", help="with --user: comma-separated groups")
    create.add_argument(
        "--kappa-namespace", default="kappa-system", help="where Kappa runs (kappa-system)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the subcommand named in ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    Returning the status rather than exiting keeps ``main`` callable from tests;
    the console script and ``python -m kappa`` turn it into the process status.
    """
    args = _build_parser().parse_args(argv)
    return _COMMANDS[args.command](args)


# Each command imports its modules on use: the agent's cold start pays for its own
# modules only, and pydantic and YAML are no part of other commands' start.


def _version(_: argparse.Namespace) -> int:
    print(__version__)
    return 0


def _access_key(args: argparse.Namespace) -> int:
    import secrets  # noqa: PLC0415 - only this command needs these
    import string  # noqa: PLC0415

    from kubernetes import client, config  # noqa: PLC0415

    from kappa.auth.access_keys import key_secret  # noqa: PLC0415

    alphabet = string.ascii_uppercase + string.digits
    key_id = "KAPPA" + "".join(secrets.choice(alphabet) for _ in range(15))
    secret = secrets.token_urlsafe(30)
    try:
        manifest = key_secret(
            args.name,
            args.kappa_namespace,
            key_id,
            secret,
            service_account=args.service_account,
            user_name=args.user,
            groups=tuple(g.strip() for g in args.groups.split(",") if g.strip()),
        )
    except ValueError as exc:
        print(f"kappa access-key: {exc}", file=sys.stderr)
        return 2
    try:
        config.load_kube_config()
        client.CoreV1Api().create_namespaced_secret(args.kappa_namespace, manifest)
    except (config.ConfigException, client.ApiException, OSError) as exc:
        print(f"kappa access-key: could not create the Secret: {exc}", file=sys.stderr)
        return 1
    print(f"export AWS_ACCESS_KEY_ID={key_id}")
    print(f"export AWS_SECRET_ACCESS_KEY={secret}")
    return 0


def _dlq(args: argparse.Namespace) -> int:
    from kappa.asyncq import dlq_client  # noqa: PLC0415

    return dlq_client.run(args)


def _executions(args: argparse.Namespace) -> int:
    from kappa.cli import executions  # noqa: PLC0415

    return executions.run(args)


def _agent(_: argparse.Namespace) -> int:
    from kappa.agent.process import main as agent_main  # noqa: PLC0415

    return agent_main()


def _operator(_: argparse.Namespace) -> int:
    from kappa.controller.main import main as operator_main  # noqa: PLC0415

    return operator_main()


def _codestore(_: argparse.Namespace) -> int:
    from kappa.codestore.main import main as codestore_main  # noqa: PLC0415

    return codestore_main()


def _poller(args: argparse.Namespace) -> int:
    from kappa.eventsources.poller_main import main as poller_main  # noqa: PLC0415

    return poller_main(args.mapping, args.gateway, args.state)


def _gateway(args: argparse.Namespace) -> int:
    from kappa.gateway.main import main as gateway_main  # noqa: PLC0415

    registry: Path | None = args.registry
    return gateway_main(registry)


_COMMANDS: Final[Mapping[str, Callable[[argparse.Namespace], int]]] = {
    "version": _version,
    "crds": lambda args: _crds(args.out),
    "reference": lambda args: _reference(args.crds, args.out),
    "dlq": _dlq,
    "executions": _executions,
    "access-key": _access_key,
    "agent": _agent,
    "operator": _operator,
    "poller": _poller,
    "codestore": _codestore,
    "gateway": _gateway,
    "init": author.init,
    "deploy": author.deploy,
    "invoke": author.invoke,
    "logs": author.logs,
    "url": author.url,
    "layer": author.layer,
    "sam": author.sam,
    "publish": author.publish,
}


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
