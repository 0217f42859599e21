"""CreateFunction, UpdateFunctionCode, UpdateFunctionConfiguration and DeleteFunction.

The Lambda API's calls that make and change Functions, for the scripts and tools (boto3,
the AWS CLI, Terraform's provider with a custom endpoint) that drive Lambda:

    CreateFunction               POST   /2015-03-31/functions                create functions
    UpdateFunctionCode           PUT    /2015-03-31/functions/F/code         update functions
    UpdateFunctionConfiguration  PUT    /2015-03-31/functions/F/configuration update functions
    DeleteFunction               DELETE /2015-03-31/functions/F              delete functions
                                 (``Qualifier``: a version: delete functionversions)

The zip goes in the ConfigMap ``<name>-package`` (``kappa.resources.package``; owned by
the Function, so deleting it deletes the package), the Function names it
(``spec.code.configMap``) and carries its sha256, so new code rolls the pods at once.
A zip too large for a ConfigMap (up to Lambda's 50 MB) is uploaded to the code store
first (``kappa.gateway.code_store``) and the Function names the URL it answers
(``spec.code.url``); the store deletes it once no Function or version names it.
CreateFunction's namespace is in its body, so it is authorised here, not by the route.
Every Function is checked by the API's models before it is written.
"""

import hashlib
from typing import Any, Final

from aiohttp import web
from pydantic import ValidationError

from kappa.api import function as api
from kappa.api import function_version
from kappa.api.names import CODE_SHA256_ANNOTATION
from kappa.auth.access import Access, Verb
from kappa.auth.guard import Guard
from kappa.gateway import authn, control_shapes
from kappa.gateway.body import CODE_BODY_MAX, read_body
from kappa.gateway.code_store import CodeStoreClient
from kappa.gateway.control_routes import CODE_ROUTE, CONFIGURATION_ROUTE, FUNCTIONS_ROUTE, F
from kappa.gateway.control_store import ControlStore
from kappa.gateway.function_requests import (
    CodeRequest,
    configuration_fields,
    create_request,
    update_code_request,
)
from kappa.gateway.lambda_handlers import LambdaApi, answering, no_content, validation_problem
from kappa.invocation.errors import (
    conflict,
    function_not_found,
    invalid_parameter,
)
from kappa.invocation.function_name import LATEST, FunctionRef, parse_function_name
from kappa.invocation.qualifier import is_number
from kappa.resources.owner import owner_reference
from kappa.resources.package import (
    ARCHIVE_KEY,
    PackageTooLargeError,
    Placement,
    archive_configmap,
    package_configmap_name,
    package_labels,
    placement,
    url_code,
)
from kappa.versions.snapshot import PublishError

BODY_LIMIT: Final = 3 * 1024 * 1024  # a ConfigMap's zip, base64, in JSON
_TOO_LARGE: Final = (
    "host the zip where the cluster can fetch it and set spec.code.url (kubectl apply), "
    "or install the chart with codestore.enabled"
)


class FunctionApi(LambdaApi):
    """The handlers; ``add_routes`` puts them on the gateway's application."""

    def __init__(
        self,
        store: ControlStore,
        guard: Guard,
        region: str,
        code_store: CodeStoreClient | None = None,
    ) -> None:
        """``code_store``: where zips too large for a ConfigMap go (None: refused)."""
        super().__init__(store, region)
        self._guard = guard
        self._code_store = code_store

    def add_routes(self, app: web.Application) -> None:
        """Register the four calls."""
        app.router.add_post(FUNCTIONS_ROUTE, answering(self.create_function))
        app.router.add_put(CODE_ROUTE, answering(self.update_code))
        app.router.add_put(CONFIGURATION_ROUTE, answering(self.update_configuration))
        app.router.add_delete(F, answering(self.delete_function))

    async def _may_publish(self, request: web.Request, ref: FunctionRef, code: CodeRequest) -> None:
        """``Publish: true`` needs what PublishVersion needs; checked before anything is written."""
        if code.publish:
            await self._guard.require(
                authn.subject(request),
                Access(Verb.CREATE, ref.namespace, plural=function_version.PLURAL),
            )

    async def _published(
        self, _request: web.Request, ref: FunctionRef, code: CodeRequest
    ) -> dict[str, Any] | None:
        """The version ``Publish: true`` asks for (None without it)."""
        if not code.publish:
            return None
        try:
            published = await self._store.publish(ref.namespace, ref.name, None)
        except PublishError as exc:
            raise invalid_parameter(str(exc)) from None
        return published.version

    async def create_function(self, request: web.Request, _ref: FunctionRef) -> Any:
        """CreateFunction: 201 with the configuration (of the version, with Publish)."""
        body = control_shapes.json_object(await read_body(request, CODE_BODY_MAX))
        name, wanted = create_request(body)
        del body  # the zip's base64: the decoded zip is all that is kept
        ref = parse_function_name(name)
        await self._guard.require(
            authn.subject(request), Access(Verb.CREATE, ref.namespace, ref.name)
        )
        await self._may_publish(request, ref, wanted.code)
        if await self._store.function(ref.namespace, ref.name) is not None:
            raise conflict(f"Function already exist: {name}")
        code = await self._code_spec(ref, wanted.code)
        manifest = _function_manifest(ref, {**wanted.spec, **code}, wanted.code)
        made = await self._store.create(api.PLURAL, manifest)
        await self._put_package(ref, made, wanted.code)
        version = await self._published(request, ref, wanted.code)
        if version is not None:
            return 201, self._configuration(version, version=True)
        return 201, self._configuration(made)

    async def update_code(self, request: web.Request, ref: FunctionRef) -> Any:
        """UpdateFunctionCode: the new zip (or image); the pods roll."""
        body = control_shapes.json_object(await read_body(request, CODE_BODY_MAX))
        code = update_code_request(body)
        del body
        await self._may_publish(request, ref, code)
        current = await self._function(ref)
        held = (current.get("spec") or {}).get("code") or {}
        new = await self._code_spec(ref, code)
        spec = {**(current.get("spec") or {}), **new}
        if code.image is not None:
            spec.pop("handler", None)
            new["handler"] = None  # the merge patch removes it: an image has its own command
        _check(ref, spec)
        await self._put_package(ref, current, code)
        # A merge patch: the old source's key set to null, so one source remains.
        gone: dict[str, Any] = {key: None for key in held if key not in new["code"]}
        patch = {
            "metadata": {"annotations": _sha_annotation(code)},
            "spec": {**new, "code": {**gone, **new["code"]}},
        }
        patched = await self._store.patch(api.PLURAL, ref.namespace, ref.name, patch)
        version = await self._published(request, ref, code)
        if version is not None:
            return 200, self._configuration(version, version=True)
        return 200, self._configuration(patched)

    async def update_configuration(self, request: web.Request, ref: FunctionRef) -> Any:
        """UpdateFunctionConfiguration: the fields given change, the rest stays."""
        body = control_shapes.json_object(await read_body(request, BODY_LIMIT))
        fields = configuration_fields(body)
        current = await self._function(ref)
        _check(ref, {**(current.get("spec") or {}), **fields})
        patched = await self._store.patch(api.PLURAL, ref.namespace, ref.name, {"spec": fields})
        return 200, self._configuration(patched)

    async def delete_function(self, request: web.Request, ref: FunctionRef) -> Any:
        """DeleteFunction: 204.

        The Function (its versions, pods and package go with it), or one version
        (``Qualifier``).
        """
        qualifier = request.query.get("Qualifier") or LATEST
        if qualifier == LATEST:
            await self._guard.require(
                authn.subject(request), Access(Verb.DELETE, ref.namespace, ref.name)
            )
            if not await self._store.delete(api.PLURAL, ref.namespace, ref.name):
                raise function_not_found(self._arn(ref))
            return no_content(request)
        if not is_number(qualifier):
            raise invalid_parameter("Qualifier must be a version's number to delete it.")
        await self._guard.require(
            authn.subject(request),
            Access(
                Verb.DELETE,
                ref.namespace,
                f"{ref.name}.{qualifier}",
                plural=function_version.PLURAL,
            ),
        )
        name = f"{ref.name}.{qualifier}"
        if not await self._store.delete(function_version.PLURAL, ref.namespace, name):
            raise function_not_found(self._arn(ref, qualifier))
        return no_content(request)

    async def _code_spec(self, ref: FunctionRef, code: CodeRequest) -> dict[str, Any]:
        """The spec fields of ``code``; a zip too large for a ConfigMap is uploaded first."""
        if code.archive is None:
            return _code_spec(ref.name, code)
        where = _placement(code.archive, self._code_store)  # 400 when too large: nothing written
        if where is Placement.CONFIG_MAP or self._code_store is None:
            return _code_spec(ref.name, code)
        sha = hashlib.sha256(code.archive).hexdigest()
        url = await self._code_store.put(ref.namespace, code.archive, sha)
        return {"code": url_code(url, sha)}

    async def _put_package(
        self, ref: FunctionRef, owner: dict[str, Any], code: CodeRequest
    ) -> None:
        if code.archive is None or _placement(code.archive, self._code_store) is Placement.STORE:
            return
        configmap = _package(ref, code.archive)
        uid = str((owner.get("metadata") or {}).get("uid") or "")
        configmap["metadata"]["ownerReferences"] = [
            {**owner_reference(ref.name, uid), "controller": False}
        ]
        await self._store.put_configmap(configmap)


def _placement(archive: bytes, code_store: CodeStoreClient | None) -> Placement:
    try:
        return placement(len(archive), store=code_store is not None, no_store=_TOO_LARGE)
    except PackageTooLargeError as exc:
        raise invalid_parameter(str(exc)) from None


def _package(ref: FunctionRef, archive: bytes) -> dict[str, Any]:
    try:
        return archive_configmap(
            package_configmap_name(ref.name),
            ref.namespace,
            package_labels(ref.name),
            archive,
            too_large=_TOO_LARGE,
        )
    except PackageTooLargeError as exc:
        raise invalid_parameter(str(exc)) from None


def _code_spec(name: str, code: CodeRequest) -> dict[str, Any]:
    if code.image is not None:
        return {"runtime": "image", "code": {"image": code.image}}
    return {"code": {"configMap": {"name": package_configmap_name(name), "archive": ARCHIVE_KEY}}}


def _sha_annotation(code: CodeRequest) -> dict[str, str]:
    if code.archive is None:
        return {}
    return {CODE_SHA256_ANNOTATION: hashlib.sha256(code.archive).hexdigest()}


def _function_manifest(ref: FunctionRef, spec: dict[str, Any], code: CodeRequest) -> dict[str, Any]:
    _check(ref, spec)
    return {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": api.KIND,
        "metadata": {
            "name": ref.name,
            "namespace": ref.namespace,
            "annotations": _sha_annotation(code),
        },
        "spec": spec,
    }


def _check(ref: FunctionRef, spec: dict[str, Any]) -> None:
    """400 naming what the API's models refuse in ``spec``."""
    try:
        api.Function.model_validate(
            {"metadata": {"name": ref.name, "namespace": ref.namespace}, "spec": spec}
        )
    except ValidationError as exc:
        problem = validation_problem(exc)
        raise invalid_parameter(f"The Function would be refused: {problem}") from None
