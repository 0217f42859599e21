"""``kappa sam convert``: a SAM template's functions and layers as Kappa manifests.

``AWS::Serverless::Function`` becomes a Function (and an EventSourceMapping per polled
event, sam_events), ``AWS::Serverless::LayerVersion`` a Layer; ``Globals`` apply as SAM
applies them (mappings merged, lists joined, the resource's own scalars winning). Code in
a local folder (``CodeUri``, ``ContentUri``) becomes a ``Package`` for the shell to build as
``kappa deploy`` does; ``with_archives`` then adds the ConfigMaps that carry the zips.
Everything the conversion cannot carry over is an ``Unmapped`` line. Each manifest is
checked against the API models, so what is printed applies. Pure: the template in,
manifests, packages and notes out.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from pydantic import ValidationError
from typing_extensions import TypeIs

from kappa.api.event_source_mapping import EventSourceMapping
from kappa.api.function import Function
from kappa.api.layer import Layer
from kappa.api.names import CODE_SHA256_ANNOTATION, COMPONENT_LABEL, FUNCTION_LABEL
from kappa.cli.manifest import (
    API_VERSION,
    ARCHIVE_KEY,
    LAYER_COMPONENT,
    LAYER_LABEL,
    PACKAGE_COMPONENT,
    archive_configmap,
)
from kappa.cli.sam_events import convert_event, queue_url
from kappa.cli.sam_intrinsics import Context
from kappa.cli.sam_properties import Options, PropertyReader, Unmapped, kappa_name

FUNCTION_TYPE: Final = "AWS::Serverless::Function"
LAYER_TYPE: Final = "AWS::Serverless::LayerVersion"
QUEUE_TYPE: Final = "AWS::SQS::Queue"
RUNTIMES: Final = {
    "python3.11": "python3.11",
    "python3.12": "python3.12",
    "python3.13": "python3.13",
    "nodejs20.x": "nodejs20",
    "nodejs22.x": "nodejs22",
    "provided": "provided",
    "provided.al2": "provided",
    "provided.al2023": "provided",
}
"""SAM's runtimes Kappa runs as they are."""
NEAREST: Final = {
    "python3.8": "python3.11",
    "python3.9": "python3.11",
    "python3.10": "python3.11",
    "python3.14": "python3.13",
    "nodejs16.x": "nodejs20",
    "nodejs18.x": "nodejs20",
    "nodejs24.x": "nodejs22",
}
"""SAM's runtimes Kappa has not, and the one of the same language it runs instead."""
_EXTENSIONS: Final = {"python": ".py", "nodejs": ".js"}
_FUNCTION_REASONS: Final = {
    "Role": "IAM: a Function acts as its spec.serviceAccountName (RBAC, IRSA): set that",
    "Policies": "IAM: a Function acts as its spec.serviceAccountName (RBAC, IRSA): set that",
    "PermissionsBoundary": "IAM: left out",
    "RolePath": "IAM: left out",
    "AssumeRolePolicyDocument": "IAM: left out",
    "Tracing": "no X-Ray tracing: left out",
    "VpcConfig": "pods use the cluster's network: left out",
    "AutoPublishAlias": "versions and aliases are not in Kappa's Function yet: left out",
    "AutoPublishCodeSha256": "versions and aliases are not in Kappa's Function yet: left out",
    "VersionDescription": "versions and aliases are not in Kappa's Function yet: left out",
    "DeploymentPreference": "a new revision rolls the pods; no traffic shifting: left out",
    "DeadLetterQueue": "failed async events go to spec.async.onFailure (a Function or a "
    "NATS subject), not an ARN: set that",
    "Description": "a Function has no description: left out",
    "Tags": "left out (label the objects with kubectl label)",
    "KmsKeyArn": "environment values are not encrypted by Kappa: put secrets in a Secret "
    "and use valueFrom",
    "CodeSigningConfigArn": "no code signing: left out",
    "FileSystemConfigs": "no EFS mounts: left out",
    "SnapStart": "no SnapStart: left out",
    "RuntimeManagementConfig": "the runtime image is the cluster's: left out",
    "ImageConfig": "the image's own entrypoint and command run: left out",
    "Architectures": "the nodes' architecture decides; wheels are vendored for it",
    "RecursiveLoop": "no recursion detection yet: left out",
}


@dataclass(frozen=True)
class Package:
    """A local folder the shell zips (as ``kappa deploy`` does) into a ConfigMap."""

    configmap: str
    folder: str
    """As the template says it, relative to the template's folder."""
    python_version: str | None
    arch: str
    layer: bool


@dataclass(frozen=True)
class Conversion:
    """What a template becomes."""

    manifests: list[dict[str, Any]]
    packages: list[Package]
    unmapped: list[Unmapped]


def convert(template: Mapping[str, Any], options: Options) -> Conversion:
    """The Kappa objects of ``template`` (sam_yaml.load_template's), and what did not map."""
    resources: Mapping[str, Any] = template.get("Resources") or {}
    notes: list[Unmapped] = []
    context = _context(template, options, notes)
    globals_ = _section(template, "Globals")
    notes.extend(
        Unmapped("Globals", section, "applies to resources Kappa does not make")
        for section in sorted(set(globals_) - {"Function", "LayerVersion"})
    )
    outputs = template.get("Outputs")
    if isinstance(outputs, dict) and outputs:
        notes.append(Unmapped("Outputs", ", ".join(map(str, outputs)), "no stack outputs here"))
    manifests: list[dict[str, Any]] = []
    packages: list[Package] = []
    for logical, resource in resources.items():
        if not isinstance(resource, dict):
            notes.append(Unmapped(str(logical), "Type", "not a resource mapping: left out"))
            continue
        kind = resource.get("Type")
        if "Condition" in resource:
            why = f"{resource['Condition']}: converted as if it held"
            notes.append(Unmapped(logical, "Condition", why))
        if kind == FUNCTION_TYPE:
            properties = _merged(globals_.get("Function"), resource.get("Properties"))
            made, package, more = _function(logical, properties, resource, context, options)
        elif kind == LAYER_TYPE:
            properties = _merged(globals_.get("LayerVersion"), resource.get("Properties"))
            made, package, more = _layer(logical, properties, resource, context, options)
        else:
            notes.append(_other(logical, str(kind), context))
            continue
        manifests += made
        packages += [package] if package is not None else []
        notes += more
    return Conversion(manifests, packages, notes)


def _section(template: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A top-level section of the template; a missing or malformed one is empty."""
    section = template.get(key)
    return section if isinstance(section, dict) else {}


def _context(template: Mapping[str, Any], options: Options, notes: list[Unmapped]) -> Context:
    parameters: dict[str, Any] = {}
    declared = _section(template, "Parameters")
    for name, declaration in declared.items():
        if name in options.parameters:
            parameters[name] = options.parameters[name]
        elif isinstance(declaration, dict) and "Default" in declaration:
            parameters[name] = declaration["Default"]
        else:
            continue
        if isinstance(declaration, dict) and str(declaration.get("Type", "")).endswith("List"):
            parameters[name] = [p.strip() for p in str(parameters[name]).split(",")]
    notes.extend(
        Unmapped("Parameters", name, "the template declares no such parameter")
        for name in sorted(set(options.parameters) - set(declared))
    )
    resources: Mapping[str, Any] = template.get("Resources") or {}
    types = {k: str(v.get("Type")) for k, v in resources.items() if isinstance(v, dict)}
    base = Context(
        parameters=parameters,
        pseudo=options.pseudo,
        types=types,
        mappings=_section(template, "Mappings"),
    )
    names: dict[str, str] = {}
    queues: dict[str, str] = {}
    for logical, kind in types.items():
        properties = resources[logical].get("Properties")
        reader = PropertyReader(logical, properties, base)
        if kind == FUNCTION_TYPE:
            names[logical] = kappa_name(str(reader.get("FunctionName") or logical))
        elif kind == LAYER_TYPE:
            names[logical] = kappa_name(str(reader.get("LayerName") or logical))
        elif kind == QUEUE_TYPE:
            name = str(reader.get("QueueName") or logical)
            queues[logical] = str(queue_url(name, options, name_only=True))
    return replace(base, names=names, queues=queues)


def _merged(defaults: Any, own: Any) -> Any:
    """SAM's Globals rule: mappings merge, lists join (globals first), the resource wins."""
    if isinstance(defaults, dict) and isinstance(own, dict):
        keys = list(defaults) + [k for k in own if k not in defaults]
        return {k: _merged(defaults.get(k), own[k]) if k in own else defaults[k] for k in keys}
    if isinstance(defaults, list) and isinstance(own, list):
        return defaults + own
    if own is None:
        return defaults
    return own


def _other(logical: str, kind: str, context: Context) -> Unmapped:
    if kind == QUEUE_TYPE:
        url = context.queues[logical]
        why = f"Kappa does not create queues: create it (its URL here: {url})"
        return Unmapped(logical, "Type", why)
    return Unmapped(logical, "Type", f"{kind}: Kappa makes Functions and Layers only: left out")


def _runtime(reader: PropertyReader) -> str | None:
    sam = reader.get("Runtime")
    if sam is None:
        reader.note("Runtime", "required for zip code (python3.11-3.13, nodejs20.x/22.x, "
                               "provided.al2023): the function is left out")  # fmt: skip
        return None
    if sam in RUNTIMES:
        return RUNTIMES[sam]
    if sam in NEAREST:
        reader.note("Runtime", f"{sam} is not a Kappa runtime: runs on {NEAREST[sam]}")
        return NEAREST[sam]
    reader.note("Runtime", f"{sam} is not a Kappa runtime: the function is left out")
    return None


def _code(
    reader: PropertyReader, name: str, runtime: str, handler: str | None
) -> tuple[dict[str, Any] | None, str | None]:
    """The Function's spec.code, and the folder to package (None: nothing to package)."""
    inline = reader.get("InlineCode")
    if isinstance(inline, str):
        language = next((lang for lang in _EXTENSIONS if runtime.startswith(lang)), None)
        if language is None or handler is None:
            reader.note("InlineCode", "inline code needs python or nodejs: the function is "
                                      "left out")  # fmt: skip
            return None, None
        module = handler.rsplit(".", 1)[0]
        return {"inline": {module + _EXTENSIONS[language]: inline}}, None
    uri = reader.get("CodeUri")
    if uri is None:
        uri = "."  # as sam build: the template's own folder
    if not isinstance(uri, str) or uri.startswith("s3://"):
        reader.note(
            "CodeUri",
            f"{uri}: code in S3 cannot be read here: point CodeUri at the local folder "
            "(or deploy the zip with kappa deploy --code-url): the function is left out",
        )
        return None, None
    return {"configMap": {"name": f"{name}-package", "archive": ARCHIVE_KEY}}, uri


def _function(
    logical: str,
    properties: Any,
    resource: Mapping[str, Any],
    context: Context,
    options: Options,
) -> tuple[list[dict[str, Any]], Package | None, list[Unmapped]]:
    reader = PropertyReader(logical, properties, context)
    name = context.names[logical]
    reader.get("FunctionName")
    spec: dict[str, Any] = {}
    package: Package | None = None
    image = reader.get("ImageUri")
    package_type = reader.get("PackageType")
    if package_type == "Image" or image is not None:
        if not isinstance(image, str):
            reader.note("ImageUri", "an Image function needs its image reference (sam build "
                                    "makes one; pass it): the function is left out")  # fmt: skip
            return [], None, reader.finish(_FUNCTION_REASONS)
        spec = {"runtime": "image", "code": {"image": image}}
    else:
        runtime = _runtime(reader)
        handler = reader.get("Handler")
        if runtime is None:
            return [], None, reader.finish(_FUNCTION_REASONS)
        spec = {"runtime": runtime}
        if handler is not None:
            spec["handler"] = str(handler)
        code, folder = _code(reader, name, runtime, spec.get("handler"))
        if code is None:
            return [], None, reader.finish(_FUNCTION_REASONS)
        spec["code"] = code
        if folder is not None:
            architectures = reader.get("Architectures")
            arch = "arm64" if architectures == ["arm64"] else "x86_64"
            python = runtime.removeprefix("python") if runtime.startswith("python") else None
            package = Package(f"{name}-package", folder, python, arch, layer=False)
    _function_settings(reader, spec)
    mappings, notes = _events(logical, name, reader, context, options)
    metadata = resource.get("Metadata")
    if isinstance(metadata, dict) and metadata.get("BuildMethod") not in {
        None,
        *RUNTIMES,
        *NEAREST,
    }:
        why = f"{metadata['BuildMethod']}: packaged as kappa deploy does (pip, npm)"
        reader.note("Metadata.BuildMethod", why)
    notes = reader.finish(_FUNCTION_REASONS) + notes
    function = _checked(Function, name, spec, options.namespace)
    if not _kept(function, logical, notes):
        return [], None, notes
    made = [function] + [_checked(EventSourceMapping, m, s, options.namespace) for m, s in mappings]
    return [m for m in made if _kept(m, logical, notes)], package, notes


def _function_settings(reader: PropertyReader, spec: dict[str, Any]) -> None:
    """Memory, timeout, storage, environment, concurrency, layers, async, logging, URL."""
    for sam, kappa in (("MemorySize", "memoryMB"), ("Timeout", "timeoutSeconds")):
        value = reader.get(sam)
        if value is not None:
            spec[kappa] = int(value) if str(value).isdigit() else value
    storage = reader.get("EphemeralStorage")
    if isinstance(storage, dict) and "Size" in storage:
        spec["ephemeralStorageMB"] = storage["Size"]
    env = _environment(reader)
    if env:
        spec["env"] = env
    _concurrency(reader, spec)
    layers = _layers(reader)
    if layers:
        spec["layers"] = [{"name": layer} for layer in layers]
    invoke = reader.get("EventInvokeConfig")
    if isinstance(invoke, dict):
        spec["async"] = _async(reader, invoke)
    _logging_and_url(reader, spec)


def _concurrency(reader: PropertyReader, spec: dict[str, Any]) -> None:
    concurrency: dict[str, Any] = {}
    reserved = reader.get("ReservedConcurrentExecutions")
    if reserved is not None:
        concurrency["reserved"] = reserved
    provisioned = reader.get("ProvisionedConcurrencyConfig")
    if isinstance(provisioned, dict) and "ProvisionedConcurrentExecutions" in provisioned:
        concurrency["provisioned"] = provisioned["ProvisionedConcurrentExecutions"]
    if concurrency:
        spec["concurrency"] = concurrency


def _logging_and_url(reader: PropertyReader, spec: dict[str, Any]) -> None:
    logging = reader.get("LoggingConfig")
    if isinstance(logging, dict):
        keys = {"LogFormat": "logFormat", "ApplicationLogLevel": "applicationLogLevel",
                "SystemLogLevel": "systemLogLevel"}  # fmt: skip
        spec["loggingConfig"] = {keys[k]: v for k, v in logging.items() if k in keys}
        for key in sorted(set(logging) - set(keys)):
            reader.note(f"LoggingConfig.{key}", "logs go to the pods' output: left out")
    url = reader.get("FunctionUrlConfig")
    if isinstance(url, dict):
        if "AuthType" in url:
            spec["url"] = {"authType": url["AuthType"]}
        for key in sorted(set(url) - {"AuthType"}):
            reader.note(f"FunctionUrlConfig.{key}", "the HTTP trigger has no such setting")


def _environment(reader: PropertyReader) -> list[dict[str, str]]:
    environment = reader.raw("Environment")
    variables = environment.get("Variables") if isinstance(environment, dict) else None
    if not isinstance(variables, dict):
        return []
    env = []
    for key, raw in variables.items():
        value = PropertyReader(reader.resource, {key: raw}, reader.context)
        resolved = value.get(key)
        for note in value.notes:
            reader.note(f"Environment.Variables.{note.property}", note.why)
        if resolved is None:
            continue
        text = str(resolved).lower() if isinstance(resolved, bool) else str(resolved)
        env.append({"name": str(key), "value": text})
    return env


def _layers(reader: PropertyReader) -> list[str]:
    raw = reader.raw("Layers")
    names = []
    for item in raw if isinstance(raw, list) else []:
        ref = str(item.get("Ref")) if isinstance(item, dict) and "Ref" in item else ""
        if ref in reader.context.names and reader.context.types.get(ref) == LAYER_TYPE:
            names.append(reader.context.names[ref])
        else:
            shown = f"!Ref {ref}" if ref else str(item)
            reader.note(
                "Layers",
                f"{shown} is no LayerVersion of this template: publish its contents with "
                "kappa layer publish and add it to spec.layers: left out",
            )
    return names


def _async(reader: PropertyReader, invoke: Mapping[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if "MaximumRetryAttempts" in invoke:
        settings["maximumRetryAttempts"] = invoke["MaximumRetryAttempts"]
    if "MaximumEventAgeInSeconds" in invoke:
        settings["maximumEventAgeSeconds"] = invoke["MaximumEventAgeInSeconds"]
    if "DestinationConfig" in invoke:
        reader.note(
            "EventInvokeConfig.DestinationConfig",
            "destinations are Functions or NATS subjects (spec.async.onSuccess/onFailure), "
            "not ARNs: set them",
        )
    return settings


def _events(
    logical: str, name: str, reader: PropertyReader, context: Context, options: Options
) -> tuple[list[tuple[str, dict[str, Any]]], list[Unmapped]]:
    events = reader.raw("Events")
    mappings: list[tuple[str, dict[str, Any]]] = []
    notes: list[Unmapped] = []
    for event_id, event in (events if isinstance(events, dict) else {}).items():
        made, more = convert_event(f"{logical}.Events.{event_id}", event_id, event, context,
                                   options)  # fmt: skip
        notes += more
        for mapping in made:
            mapping_name = kappa_name(f"{name}-{mapping.suffix}", 59)
            mappings.append((mapping_name, {"functionRef": {"name": name}, **mapping.spec}))
    return mappings, notes


def _layer(
    logical: str,
    properties: Any,
    _resource: Mapping[str, Any],
    context: Context,
    options: Options,
) -> tuple[list[dict[str, Any]], Package | None, list[Unmapped]]:
    reader = PropertyReader(logical, properties, context)
    name = context.names[logical]
    reader.get("LayerName")
    uri = reader.get("ContentUri")
    if not isinstance(uri, str) or uri.startswith("s3://"):
        reader.note("ContentUri", f"{uri}: needs a local folder: the layer is left out")
        return [], None, reader.finish({})
    spec: dict[str, Any] = {
        "code": {"configMap": {"name": f"{name}-layer", "archive": ARCHIVE_KEY}}
    }
    description = reader.get("Description")
    if description:
        spec["description"] = str(description)
    build = _resource.get("Metadata", {}).get("BuildMethod") if isinstance(
        _resource.get("Metadata"), dict) else None  # fmt: skip
    python = str(build).removeprefix("python") if str(build).startswith("python") else None
    architectures = reader.get("CompatibleArchitectures")
    arch = "arm64" if architectures == ["arm64"] else "x86_64"
    reader.get("CompatibleRuntimes")
    notes = reader.finish({
        "LicenseInfo": "left out",
        "RetentionPolicy": "a Layer has one version, replaced by each publish: left out",
    })  # fmt: skip
    layer = _checked(Layer, name, spec, options.namespace)
    if not _kept(layer, logical, notes):
        return [], None, notes
    return [layer], Package(f"{name}-layer", uri, python, arch, layer=True), notes


_Model = type[Function] | type[Layer] | type[EventSourceMapping]


def _checked(
    model: _Model, name: str, spec: dict[str, Any], namespace: str | None
) -> dict[str, Any] | Unmapped:
    """The object, or a note (without its resource) saying why the API would refuse it."""
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    manifest = {"apiVersion": API_VERSION, "kind": model.__name__, "metadata": metadata,
                "spec": spec}  # fmt: skip
    try:
        model.model_validate(manifest)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        why = f"the {model.__name__} {name} would be refused ({problems}): left out"
        return Unmapped("", model.__name__, why)
    return manifest


def _kept(
    checked: dict[str, Any] | Unmapped, logical: str, notes: list[Unmapped]
) -> TypeIs[dict[str, Any]]:
    """Whether ``checked`` is an object; a refusal goes to ``notes`` under ``logical``."""
    if isinstance(checked, Unmapped):
        notes.append(replace(checked, resource=logical))
        return False
    return True


def with_archives(conversion: Conversion, archives: Mapping[str, bytes]) -> list[dict[str, Any]]:
    """The manifests to apply, each package's ConfigMap before the object that takes it.

    ``archives``: the zips by ConfigMap name. The object is marked with its zip's sha256, so
    that new code rolls its pods.
    """
    documents: list[dict[str, Any]] = []
    for manifest in conversion.manifests:
        configmap = manifest["spec"].get("code", {}).get("configMap", {}).get("name")
        archive = archives.get(configmap) if configmap else None
        if archive is None:
            documents.append(manifest)
            continue
        name, namespace = manifest["metadata"]["name"], manifest["metadata"].get("namespace")
        if manifest["kind"] == "Layer":
            labels = {LAYER_LABEL: name, COMPONENT_LABEL: LAYER_COMPONENT}
        else:
            labels = {FUNCTION_LABEL: name, COMPONENT_LABEL: PACKAGE_COMPONENT}
        documents.append(archive_configmap(configmap, namespace, labels, archive))
        sha = hashlib.sha256(archive).hexdigest()
        metadata = {**manifest["metadata"], "annotations": {CODE_SHA256_ANNOTATION: sha}}
        documents.append({**manifest, "metadata": metadata})
    return documents
