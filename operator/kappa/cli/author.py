"""The author's commands: ``kappa init``, ``deploy``, ``invoke``, ``logs`` and ``url``.

The same as a kubectl plugin (``kubectl kappa deploy DIR``). Arguments here, the work in
the modules each handler imports on use (pydantic, YAML and the Kubernetes client are
no part of other commands' start). Exit status: 0 done, 1 the cluster, the gateway or
the function failed, 2 the arguments or the folder cannot be used.
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from kappa.cli.cluster import Cluster

MAX_PAYLOAD_BYTES: Final = 6 * 1024 * 1024
_CANNOT_RUN: Final = frozenset(
    {"InvalidSpec", "ConfigMapArchiveNotFound", "ConfigMapNotFound", "InitError", "ImagePullFailed"}
)
"""Ready=False reasons that waiting does not mend: deploy stops and shows the message."""
_FAILED: Final = 1
_USAGE: Final = 2
_DESCRIPTION_MAX: Final = 256  # a FunctionVersion's spec.description


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register the author's commands under ``kappa``."""
    cluster = argparse.ArgumentParser(add_help=False)
    cluster.add_argument("--context", help="the kubeconfig context (default: the current one)")
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("-n", "--namespace", help="the Function's namespace (the context's)")
    gateway = argparse.ArgumentParser(add_help=False)
    gateway.add_argument("--gateway", metavar="URL", help="the gateway (found in the cluster)")
    gateway.add_argument(
        "--kappa-namespace", default="kappa-system", help="where Kappa runs (kappa-system)"
    )
    gateway.add_argument("--token", help="a token for audience kappa (else your kubeconfig's)")

    summary = "write a new function folder: code, dependencies file, kappa.yaml"
    init = commands.add_parser("init", help=summary, description=summary)
    init.add_argument("directory", nargs="?", default=".", type=Path, metavar="DIR")
    init.add_argument("--runtime", required=True, help="python3.11..3.13, nodejs20, nodejs22")
    init.add_argument("--name", help="the Function's name (default: the folder's)")

    summary = "package a folder with its dependencies and run it as a Function"
    deploy = commands.add_parser(
        "deploy", parents=[cluster, where, gateway], help=summary, description=summary
    )
    deploy.add_argument("directory", type=Path, metavar="DIR")
    deploy.add_argument("--name", help="the Function's name (kappa.yaml, else the folder's)")
    deploy.add_argument("--runtime", help="the runtime (kappa.yaml)")
    deploy.add_argument("--handler", help="FILE.FUNCTION (kappa.yaml, else the runtime's)")
    deploy.add_argument(
        "--arch",
        choices=("x86_64", "arm64"),
        default="x86_64",
        help="the nodes' architecture, for compiled wheels (x86_64)",
    )
    deploy.add_argument(
        "--code-url",
        metavar="URL",
        help="where the zip is served (else a package over 1 MiB goes to Kappa's code "
        "store through the gateway)",
    )
    deploy.add_argument("--dry-run", action="store_true", help="print the manifests, apply nothing")
    deploy.add_argument(
        "-o",
        "--output",
        choices=("yaml", "json"),
        default="yaml",
        help="with --dry-run: the manifests' format (yaml)",
    )
    deploy.add_argument(
        "--wait",
        type=int,
        default=180,
        metavar="SECONDS",
        help="wait this long for Ready (0: do not wait)",
    )
    deploy.add_argument("--save-zip", type=Path, metavar="FILE", help="also write the zip here")
    deploy.add_argument(
        "--layer",
        action="append",
        default=[],
        metavar="NAME",
        help="a Layer to unpack under /opt (repeat, in order; kappa.yaml: layers)",
    )

    _add_layer(commands, [cluster, where])
    _add_sam(commands)
    _add_publish(commands, [cluster, where])

    summary = "invoke a Function and print its response"
    invoke = commands.add_parser(
        "invoke", parents=[cluster, where, gateway], help=summary, description=summary
    )
    invoke.add_argument("name", metavar="NAME")
    invoke.add_argument("--payload", default="{}", help="the event, JSON ({})")

    summary = "print a Function's logs (START, END, REPORT lines and its output)"
    logs = commands.add_parser("logs", parents=[cluster, where], help=summary, description=summary)
    logs.add_argument("name", metavar="NAME")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("--request-id", help="only this invocation's lines")

    summary = "print a Function's HTTP URL (its HTTP trigger on the gateway)"
    url = commands.add_parser(
        "url", parents=[cluster, where, gateway], help=summary, description=summary
    )
    url.add_argument("name", metavar="NAME")


def _add_layer(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
    parents: list[argparse.ArgumentParser],
) -> None:
    summary = "package a folder as a Layer that Functions share (unpacked under /opt)"
    layer = commands.add_parser("layer", help=summary, description=summary)
    layer_actions = layer.add_subparsers(dest="layer_command", required=True, metavar="ACTION")
    publish = layer_actions.add_parser(
        "publish", parents=parents, help=summary, description=summary
    )
    publish.add_argument("directory", type=Path, metavar="DIR")
    publish.add_argument("--name", required=True, help="the Layer's name")
    publish.add_argument(
        "--runtime", help="vendor requirements.txt (python3.x) or package.json (nodejs) for it"
    )
    publish.add_argument("--arch", choices=("x86_64", "arm64"), default="x86_64")
    publish.add_argument("--description", help="what the layer holds")
    publish.add_argument("--dry-run", action="store_true", help="print the manifests")


def _add_publish(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
    parents: list[argparse.ArgumentParser],
) -> None:
    summary = "publish a Function's version: its code and configuration frozen under a number"
    publish_version = commands.add_parser(
        "publish", parents=parents, help=summary, description=summary
    )
    publish_version.add_argument("name", metavar="NAME")
    publish_version.add_argument("--description", help="what this version is")


def _add_sam(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """``kappa sam convert TEMPLATE`` (docs/sam.md)."""
    summary = "SAM templates as Kappa manifests"
    sam = commands.add_parser("sam", help=summary, description=summary)
    sam_actions = sam.add_subparsers(dest="sam_command", required=True, metavar="ACTION")
    summary = "print a SAM template's functions and layers as Kappa manifests (docs/sam.md)"
    convert = sam_actions.add_parser("convert", help=summary, description=summary)
    convert.add_argument("template", type=Path, metavar="TEMPLATE", help="template.yaml")
    convert.add_argument(
        "-o", "--output", choices=("yaml", "json"), default="yaml", help="the format (yaml)"
    )
    convert.add_argument("-n", "--namespace", help="write this namespace (default: none)")
    convert.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template parameter's value (repeat; as sam deploy --parameter-overrides)",
    )
    convert.add_argument("--region", default="us-east-1", help="AWS::Region (us-east-1)")
    convert.add_argument(
        "--account-id", default="000000000000", help="AWS::AccountId, in queue URLs"
    )
    convert.add_argument(
        "--sqs-endpoint",
        metavar="URL",
        help="the SQS-compatible endpoint the queues are at (default: AWS's, by region)",
    )


def _fail(command: str, message: str, status: int = _FAILED) -> int:
    print(f"kappa {command}: {message}", file=sys.stderr)
    return status


def _progress(message: str) -> None:
    print(f"==> {message}", file=sys.stderr)


def init(args: argparse.Namespace) -> int:
    """``kappa init``: write the scaffold; refuse to overwrite anything."""
    from kappa.api.names import validate_dns1123_label  # noqa: PLC0415
    from kappa.cli.scaffold import scaffold  # noqa: PLC0415

    directory: Path = args.directory
    name = args.name or directory.resolve().name
    try:
        validate_dns1123_label(name)
        files = scaffold(name, args.runtime)
    except ValueError as error:
        return _fail("init", f"{error} (pass --name NAME for the Function's name)", _USAGE)
    existing = [path for path in files if (directory / path).exists()]
    if existing:
        return _fail("init", f"{directory / existing[0]} exists: init a new folder", _USAGE)
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        (directory / path).write_text(text, encoding="utf-8")
        print(directory / path)
    print(f"next: kappa deploy {directory}", file=sys.stderr)
    return 0


def _context_namespace(context: str | None) -> str | None:
    from kubernetes import config  # noqa: PLC0415

    try:
        contexts, active = config.list_kube_config_contexts()
    except Exception:  # noqa: BLE001 - no kubeconfig at all is fine for a dry run
        return None
    chosen = next((c for c in contexts if c["name"] == context), active) if context else active
    namespace = (chosen or {}).get("context", {}).get("namespace")
    return str(namespace) if namespace else None


def _load_project(args: argparse.Namespace) -> Any:
    import yaml  # noqa: PLC0415

    from kappa.cli.project import (  # noqa: PLC0415
        KAPPA_YAML,
        KAPPA_YAML_MAX_BYTES,
        ProjectError,
        project,
        read_kappa_yaml,
    )

    directory: Path = args.directory
    if not directory.is_dir():
        raise ProjectError(f"{directory} is not a folder: kappa init {directory} makes one")
    settings: dict[str, Any] = {}
    settings_file = directory / KAPPA_YAML
    if settings_file.is_file():
        if settings_file.stat().st_size > KAPPA_YAML_MAX_BYTES:
            raise ProjectError(f"{settings_file} is over {KAPPA_YAML_MAX_BYTES} bytes")
        try:
            settings = read_kappa_yaml(yaml.safe_load(settings_file.read_text(encoding="utf-8")))
        except yaml.YAMLError as error:
            raise ProjectError(f"{settings_file} is not YAML: {error}") from error
    flags = {
        "name": args.name,
        "namespace": args.namespace,
        "runtime": args.runtime,
        "handler": args.handler,
    }
    return project(
        settings,
        flags,
        folder_name=directory.resolve().name,
        context_namespace=_context_namespace(args.context),
        layer_flags=args.layer,
    )


def deploy(args: argparse.Namespace) -> int:
    """``kappa deploy DIR``: vendor, zip, store, apply, wait, say how to invoke."""
    from kappa.cli import manifest, package  # noqa: PLC0415
    from kappa.cli.project import ProjectError  # noqa: PLC0415

    try:
        target = _load_project(args)
    except ProjectError as error:
        return _fail("deploy", str(error), _USAGE)
    _progress(f"packaging {args.directory} for {target.runtime}")
    try:
        archive = package.build(
            args.directory,
            python_version=target.python_version,
            arch=args.arch,
            progress=_progress,
        )
    except package.PackageError as error:
        return _fail("deploy", str(error))
    _progress(f"package: {len(archive):,} bytes zipped")
    if args.save_zip is not None:
        args.save_zip.write_bytes(archive)
        _progress(f"wrote {args.save_zip}")
    try:
        stored = manifest.needs_store(archive, args.code_url)
        if stored:
            documents = [manifest.stored_function_manifest(target, archive)]
        else:
            documents = manifest.manifests(target, archive, args.code_url)
    except manifest.PackageTooLargeError as error:
        hint = "" if args.save_zip else " (--save-zip FILE writes the zip to upload)"
        return _fail("deploy", f"{error}{hint}")
    except ValueError as error:
        return _fail("deploy", str(error), _USAGE)
    if args.dry_run:
        if stored:
            _progress("the zip goes to the code store (the gateway's CreateFunction or "
                      "UpdateFunctionCode sets spec.code), then this is applied")  # fmt: skip
        _print_manifests(documents, args.output)
        return 0
    return _apply(args, target, documents, archive, stored=stored)


def _print_manifests(documents: list[dict[str, Any]], output: str) -> None:
    import yaml  # noqa: PLC0415

    if output == "json":
        print(json.dumps({"apiVersion": "v1", "kind": "List", "items": documents}, indent=2))
    else:
        print(yaml.safe_dump_all(documents, sort_keys=False), end="")


def layer(args: argparse.Namespace) -> int:
    """``kappa layer publish DIR --name NAME``: zip (vendored under python/ or nodejs/), store."""
    from kappa.api.names import validate_dns1123_label  # noqa: PLC0415
    from kappa.cli import manifest, package  # noqa: PLC0415
    from kappa.cli.cluster import Cluster, ClusterError  # noqa: PLC0415

    runtime: str | None = args.runtime
    try:
        validate_dns1123_label(args.name)
    except ValueError as error:
        return _fail("layer", str(error), _USAGE)
    python = runtime.removeprefix("python") if runtime and runtime.startswith("python") else None
    _progress(f"packaging layer {args.name} from {args.directory}")
    try:
        archive = package.build(
            args.directory, python_version=python, arch=args.arch, progress=_progress, layer=True
        )
        namespace = args.namespace or _context_namespace(args.context) or "default"
        documents = manifest.layer_manifests(args.name, namespace, archive, args.description)
    except package.PackageError as error:
        return _fail("layer", str(error))
    except ValueError as error:  # PackageTooLargeError, or a Layer the API would refuse
        return _fail("layer", str(error))
    if args.dry_run:
        _print_manifests(documents, "yaml")
        return 0
    try:
        cluster = Cluster(args.context)
        cluster.check_kappa()
        cluster.apply(documents[0])
        applied = cluster.apply(documents[1])
        uid = applied["metadata"]["uid"]
        cluster.apply(manifest.owned_by(documents[0], args.name, uid, kind="Layer"))
    except ClusterError as error:
        return _fail("layer", str(error))
    print(f"Layer {namespace}/{args.name} published ({len(archive):,} bytes). Use it:")
    print(f"  kappa deploy DIR --layer {args.name}   (or layers: [{args.name}] in kappa.yaml)")
    return 0


def sam(args: argparse.Namespace) -> int:
    """``kappa sam convert TEMPLATE``: manifests on stdout, what did not map on stderr."""
    from kappa.cli import package  # noqa: PLC0415
    from kappa.cli.manifest import PackageTooLargeError  # noqa: PLC0415
    from kappa.cli.sam import convert, with_archives  # noqa: PLC0415
    from kappa.cli.sam_properties import Options  # noqa: PLC0415
    from kappa.cli.sam_yaml import TemplateError, load_template  # noqa: PLC0415

    template_file: Path = args.template
    parameters = dict(p.partition("=")[::2] for p in args.parameter)
    if any("=" not in p for p in args.parameter):
        return _fail("sam", "--parameter takes NAME=VALUE", _USAGE)
    try:
        template = load_template(template_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, TemplateError) as error:
        return _fail("sam", f"{template_file}: {error}", _USAGE)
    options = Options(
        namespace=args.namespace,
        region=args.region,
        account_id=args.account_id,
        stack_name=template_file.resolve().parent.name,
        sqs_endpoint=args.sqs_endpoint,
        parameters=parameters,
    )
    conversion = convert(template, options)
    built: dict[tuple[str, str | None, str, bool], bytes] = {}
    archives: dict[str, bytes] = {}
    for request in conversion.packages:
        key = (request.folder, request.python_version, request.arch, request.layer)
        if key not in built:
            folder = template_file.parent / request.folder
            _progress(f"packaging {folder} for {request.configmap}")
            try:
                built[key] = package.build(
                    folder,
                    python_version=request.python_version,
                    arch=request.arch,
                    progress=_progress,
                    layer=request.layer,
                )
            except package.PackageError as error:
                return _fail("sam", f"{request.configmap}: {error}")
        archives[request.configmap] = built[key]
    try:
        documents = with_archives(conversion, archives)
    except PackageTooLargeError as error:
        return _fail("sam", str(error))
    for note in conversion.unmapped:
        print(f"not mapped: {note.line()}", file=sys.stderr)
    _print_manifests(documents, args.output)
    return 0


def _apply(
    args: argparse.Namespace,
    target: Any,
    documents: list[dict[str, Any]],
    archive: bytes,
    *,
    stored: bool = False,
) -> int:
    from kappa.cli import gateway_client  # noqa: PLC0415
    from kappa.cli.cluster import Cluster, ClusterError  # noqa: PLC0415
    from kappa.cli.manifest import owned_by  # noqa: PLC0415

    try:
        cluster = Cluster(args.context)
        cluster.check_kappa()
        if stored:
            _store(args, cluster, target, archive)
        applied: dict[str, dict[str, Any]] = {}
        for document in documents:
            name = document["metadata"]["name"]
            _progress(f"applying {document['kind']} {target.namespace}/{name}")
            applied[document["kind"]] = cluster.apply(document)
        if "ConfigMap" in applied:
            # Owned once the Function has a uid: deleting the Function deletes its package.
            uid = applied["Function"]["metadata"]["uid"]
            cluster.apply(owned_by(documents[0], target.name, uid))
        sha = hashlib.sha256(archive).hexdigest()
        if args.wait > 0 and not _wait_ready(cluster, target, args.wait, sha):
            return _FAILED
    except (ClusterError, gateway_client.GatewayError) as error:
        return _fail("deploy", str(error))
    print(f"Function {target.namespace}/{target.name} deployed. Invoke it:")
    print(f"  kappa invoke {target.name} --namespace {target.namespace} --payload '{{}}'")
    print(f"  kappa logs {target.name} --namespace {target.namespace}")
    return 0


def _store(args: argparse.Namespace, cluster: "Cluster", target: Any, archive: bytes) -> None:
    """Send a package too large for a ConfigMap through the gateway to the code store."""
    from kappa.cli import gateway_client  # noqa: PLC0415

    exists = cluster.has_function(target.namespace, target.name)
    call = "UpdateFunctionCode" if exists else "CreateFunction"
    _progress(f"{call}: {len(archive):,} bytes to the code store through the gateway")
    with gateway_client.gateway_base(
        args.gateway, cluster, args.kappa_namespace, args.context
    ) as base:
        gateway_client.put_code(
            base,
            gateway_client.credentials_for(args.token, cluster),
            namespace=target.namespace,
            name=target.name,
            archive=archive,
            create=None if exists else (target.runtime, target.handler),
        )


def _wait_ready(cluster: "Cluster", target: Any, seconds: int, code_sha256: str) -> bool:
    import time  # noqa: PLC0415

    from kappa.cli.cluster import ready_condition  # noqa: PLC0415

    deadline = time.monotonic() + seconds
    said = None
    while True:
        function = cluster.function(target.namespace, target.name)
        status, reason, message = ready_condition(function, code_sha256)
        if status == "True":
            _progress("Ready")
            return True
        if (status, reason) != said:
            _progress(f"Ready={status} {reason}: {message}".rstrip(": "))
            said = (status, reason)
        if reason in _CANNOT_RUN:
            _fail("deploy", f"the Function cannot run: {message}")
            return False
        if time.monotonic() >= deadline:
            where = f"-n {target.namespace} {target.name}"
            _fail("deploy", f"not Ready after {seconds} s: kubectl describe function {where}")
            return False
        time.sleep(1)


def _namespace(args: argparse.Namespace, cluster: "Cluster | None") -> str:
    context_namespace = cluster.context_namespace if cluster is not None else None
    return str(args.namespace or context_namespace or "default")


def _function_in_cluster(args: argparse.Namespace) -> "tuple[Cluster, str]":
    """The cluster and the namespace of the Function ``args.name`` (ClusterError: not there)."""
    from kappa.cli.cluster import Cluster  # noqa: PLC0415

    cluster = Cluster(args.context)
    namespace = _namespace(args, cluster)
    cluster.function(namespace, args.name)
    return cluster, namespace


def publish(args: argparse.Namespace) -> int:
    """``kappa publish NAME``: the new version's number (or the latest, when nothing changed)."""
    from kappa.cli.cluster import Cluster, ClusterError  # noqa: PLC0415
    from kappa.versions.snapshot import PublishError  # noqa: PLC0415

    if args.description is not None and len(args.description) > _DESCRIPTION_MAX:
        return _fail("publish", f"--description is over {_DESCRIPTION_MAX} characters", _USAGE)
    try:
        cluster = Cluster(args.context)
        namespace = _namespace(args, cluster)
        published = cluster.publish(namespace, args.name, args.description)
    except (ClusterError, PublishError) as error:
        return _fail("publish", str(error))
    name = f"{args.name}.{published.number}"
    if published.created:
        _progress(f"published {namespace}/{args.name} version {published.number} ({name})")
    else:
        _progress(
            f"{namespace}/{args.name} has not changed since version {published.number}: "
            "no new version"
        )
    sys.stdout.write(f"{published.number}\n")
    _progress(f"invoke it: kappa invoke {args.name}:{published.number}")
    return 0


def invoke(args: argparse.Namespace) -> int:
    """``kappa invoke NAME``: the response on stdout; 1 when the function failed."""
    from kappa.cli import gateway_client  # noqa: PLC0415
    from kappa.cli.cluster import Cluster, ClusterError  # noqa: PLC0415

    payload = args.payload.encode()
    if len(payload) > MAX_PAYLOAD_BYTES:
        return _fail("invoke", f"--payload is over Lambda's {MAX_PAYLOAD_BYTES} bytes", _USAGE)
    try:
        json.loads(payload)
    except ValueError as error:
        return _fail("invoke", f"--payload must be JSON: {error}", _USAGE)
    try:
        cluster = None if args.gateway else Cluster(args.context)
        namespace = _namespace(args, cluster)
        with gateway_client.gateway_base(
            args.gateway, cluster, args.kappa_namespace, args.context
        ) as base:
            credentials = gateway_client.credentials_for(args.token, cluster)
            answer = gateway_client.invoke(base, credentials, namespace, args.name, payload)
    except (ClusterError, gateway_client.GatewayError) as error:
        return _fail("invoke", str(error))
    sys.stdout.write(answer.body.decode("utf-8", "replace") + "\n")
    if answer.function_error:
        request = answer.request_id or "ID"
        return _fail(
            "invoke",
            f"the function failed ({answer.function_error}); "
            f"kappa logs {args.name} --request-id {request} shows why",
        )
    return 0


def logs(args: argparse.Namespace) -> int:
    """``kappa logs NAME``: every pod's lines, or one request's; ``-f`` follows."""
    from kappa.cli.cluster import ClusterError, follow_pods  # noqa: PLC0415
    from kappa.cli.log_lines import request_lines  # noqa: PLC0415

    try:
        cluster, namespace = _function_in_cluster(args)
        if args.follow:

            def emit(pod: str, line: str) -> None:
                if args.request_id is None or args.request_id in line:
                    print(f"[{pod}] {line}", flush=True)

            try:
                follow_pods(cluster, namespace, args.name, emit)
            except KeyboardInterrupt:
                return 0
        pods = cluster.pod_names(namespace, args.name)
        if not pods:
            print(f"(no pods: {args.name} is scaled to zero; invoke it first)", file=sys.stderr)
        for pod in pods:
            lines = cluster.log_lines(namespace, pod, follow=False)
            chosen = lines if args.request_id is None else request_lines(lines, args.request_id)
            for line in chosen:
                print(f"[{pod}] {line}")
    except ClusterError as error:
        return _fail("logs", str(error))
    return 0


def url(args: argparse.Namespace) -> int:
    """``kappa url NAME``: the Function's HTTP trigger on the gateway."""
    from kappa.cli.cluster import ClusterError  # noqa: PLC0415
    from kappa.cli.gateway_client import GatewayError, trigger_url  # noqa: PLC0415

    try:
        cluster, namespace = _function_in_cluster(args)
        address, reachable = trigger_url(args.gateway, cluster, args.kappa_namespace)
    except (ClusterError, GatewayError) as error:
        return _fail("url", str(error))
    print(f"{address}/fn/{namespace}/{args.name}/")
    if not reachable:
        print(
            f"(the gateway's cluster address; from here: kubectl port-forward -n "
            f"{args.kappa_namespace} svc/kappa-gateway 8080:80, then http://127.0.0.1:8080"
            f"/fn/{namespace}/{args.name}/)",
            file=sys.stderr,
        )
    return 0
