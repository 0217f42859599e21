"""The Lambda control-plane API for versions, aliases and concurrency, on the gateway.

The routes (``kappa.gateway.control_routes``) are authorised by the middleware before
these handlers run; each handler checks its body (``control_shapes``), reads or writes
through the ``ControlStore`` and answers Lambda's shapes and errors:

- PublishVersion (201), ListVersionsByFunction ($LATEST first, then each version);
- CreateAlias (201; 409 when it exists), GetAlias, UpdateAlias, DeleteAlias (204),
  ListAliases; an alias must name versions that exist (404 otherwise);
- GetFunctionConfiguration (``Qualifier``: $LATEST, a number or an alias);
- Put/Get/DeleteFunctionConcurrency: the Function's ``spec.concurrency.reserved``;
- Put/GetProvisionedConcurrencyConfig: a version's ``spec.provisionedConcurrency``
  (``Qualifier`` a number, or an alias: its version); $LATEST is refused, as Lambda does.

A refusal of the API server (a CEL rule, a conflict) is a Lambda error with its words,
never a 500; a write the gateway's own RBAC lacks is 500 ``ServiceException`` naming it.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from kappa.api import function as api
from kappa.api import function_alias, function_version
from kappa.gateway import control_routes, control_shapes
from kappa.gateway.body import read_body
from kappa.gateway.lambda_handlers import LambdaApi, answering, no_content
from kappa.invocation.errors import (
    conflict,
    function_not_found,
    invalid_parameter,
    not_found,
    provisioned_config_not_found,
)
from kappa.invocation.function_name import LATEST, FunctionRef
from kappa.invocation.qualifier import is_number
from kappa.versions.snapshot import PublishError

log = logging.getLogger("kappa.gateway.control")

BODY_LIMIT: Final = 64 * 1024  # these bodies are a few hundred bytes
_CONFLICT: Final = 409
_INVALID: Final = 422
_NOT_FOUND: Final = 404

Handler = Callable[[web.Request], Awaitable[web.Response]]


class ControlPlane(LambdaApi):
    """The handlers; ``add_routes`` puts them on the gateway's application."""

    def add_routes(self, app: web.Application) -> None:
        """Register every route of ``control_routes.ROUTES``."""
        handlers: dict[tuple[str, str], Callable[[web.Request, FunctionRef], Awaitable[Any]]] = {
            ("POST", control_routes.VERSIONS_ROUTE): self.publish_version,
            ("GET", control_routes.VERSIONS_ROUTE): self.list_versions,
            ("POST", control_routes.ALIASES_ROUTE): self.create_alias,
            ("GET", control_routes.ALIASES_ROUTE): self.list_aliases,
            ("GET", control_routes.ALIAS_ROUTE): self.get_alias,
            ("PUT", control_routes.ALIAS_ROUTE): self.update_alias,
            ("DELETE", control_routes.ALIAS_ROUTE): self.delete_alias,
            ("GET", control_routes.CONFIGURATION_ROUTE): self.get_configuration,
            ("PUT", control_routes.CONCURRENCY_PUT_ROUTE): self.put_concurrency,
            ("DELETE", control_routes.CONCURRENCY_PUT_ROUTE): self.delete_concurrency,
            ("GET", control_routes.CONCURRENCY_GET_ROUTE): self.get_concurrency,
            ("PUT", control_routes.PROVISIONED_ROUTE): self.put_provisioned,
            ("GET", control_routes.PROVISIONED_ROUTE): self.get_provisioned,
        }
        assert handlers.keys() == control_routes.ROUTES.keys()  # noqa: S101 - one table
        for (method, path), handler in handlers.items():
            app.router.add_route(method, path, answering(handler))

    # ------------------------------------------------------------------ helpers

    async def _version(self, ref: FunctionRef, number: str) -> dict[str, Any]:
        found = await self._store.version(ref.namespace, ref.name, number)
        if found is None:
            raise function_not_found(self._arn(ref, number))
        return found

    async def _alias(self, ref: FunctionRef, alias: str) -> dict[str, Any]:
        found = await self._store.alias(ref.namespace, ref.name, alias)
        if found is None:
            raise not_found(f"Alias not found: {self._arn(ref, alias)}")
        return found

    async def _named_version(self, ref: FunctionRef, qualifier: str) -> dict[str, Any]:
        """The version ``qualifier`` names: a number, or an alias (its FunctionVersion)."""
        if qualifier == LATEST:
            raise invalid_parameter(
                "Provisioned Concurrency Configs cannot be applied to unpublished function "
                "versions ($LATEST): publish a version, or name an alias."
            )
        if not is_number(qualifier):
            target = (await self._alias(ref, qualifier)).get("spec", {}).get("functionVersion")
            if not isinstance(target, str) or not is_number(target):
                raise invalid_parameter(f"Alias {qualifier} names $LATEST, not a version.")
            qualifier = target
        return await self._version(ref, qualifier)

    async def _check_versions(self, ref: FunctionRef, numbers: list[str]) -> None:
        for number in numbers:
            if number != LATEST:
                await self._version(ref, number)

    # ------------------------------------------------------------------ versions

    async def publish_version(self, request: web.Request, ref: FunctionRef) -> Any:
        """PublishVersion: 201 with the version's configuration."""
        body = control_shapes.json_object(await read_body(request, BODY_LIMIT))
        description = control_shapes.description(body)
        await self._function(ref)
        try:
            published = await self._store.publish(ref.namespace, ref.name, description)
        except PublishError as exc:
            raise invalid_parameter(str(exc)) from None
        return 201, self._configuration(published.version, version=True)

    async def list_versions(self, _request: web.Request, ref: FunctionRef) -> Any:
        """ListVersionsByFunction: $LATEST, then every version by number."""
        latest = self._configuration(await self._function(ref), version=False)
        versions = await self._store.versions(ref.namespace, ref.name)
        listed = [latest, *(self._configuration(v, version=True) for v in versions)]
        return 200, {"Versions": listed}

    async def get_configuration(self, request: web.Request, ref: FunctionRef) -> Any:
        """GetFunctionConfiguration, of $LATEST, a version, or an alias's version."""
        qualifier = request.query.get("Qualifier") or LATEST
        if qualifier == LATEST:
            return 200, self._configuration(await self._function(ref), version=False)
        if not is_number(qualifier):
            target = (await self._alias(ref, qualifier)).get("spec", {}).get("functionVersion")
            if target == LATEST or not isinstance(target, str):
                return 200, self._configuration(await self._function(ref), version=False)
            qualifier = target
        return 200, self._configuration(await self._version(ref, qualifier), version=True)

    # ------------------------------------------------------------------- aliases

    async def create_alias(self, request: web.Request, ref: FunctionRef) -> Any:
        """CreateAlias: 201; 409 when the alias exists."""
        body = control_shapes.json_object(await read_body(request, BODY_LIMIT))
        wanted = control_shapes.alias_request(body)
        await self._function(ref)
        if await self._store.alias(ref.namespace, ref.name, wanted.name) is not None:
            raise conflict(f"Alias already exists: {self._arn(ref, wanted.name)}")
        await self._check_versions(ref, [wanted.version or "", *(wanted.weights or {})])
        manifest = control_shapes.alias_manifest(ref.namespace, ref.name, wanted, None)
        made = await self._store.apply(function_alias.PLURAL, manifest)
        return 201, control_shapes.alias_configuration(made, self._region)

    async def get_alias(self, request: web.Request, ref: FunctionRef) -> Any:
        """GetAlias."""
        found = await self._alias(ref, control_shapes.alias_name(request.match_info["alias"]))
        return 200, control_shapes.alias_configuration(found, self._region)

    async def update_alias(self, request: web.Request, ref: FunctionRef) -> Any:
        """UpdateAlias: what the body gives changes, the rest stays."""
        body = control_shapes.json_object(await read_body(request, BODY_LIMIT))
        wanted = control_shapes.alias_request(body, request.match_info["alias"])
        current = await self._alias(ref, wanted.name)
        numbers = [*([wanted.version] if wanted.version else []), *(wanted.weights or {})]
        await self._check_versions(ref, numbers)
        manifest = control_shapes.alias_manifest(ref.namespace, ref.name, wanted, current)
        made = await self._store.apply(function_alias.PLURAL, manifest)
        return 200, control_shapes.alias_configuration(made, self._region)

    async def delete_alias(self, request: web.Request, ref: FunctionRef) -> Any:
        """DeleteAlias: 204, whether or not it existed (as Lambda)."""
        alias = control_shapes.alias_name(request.match_info["alias"])
        await self._store.delete_alias(ref.namespace, ref.name, alias)
        return no_content(request)

    async def list_aliases(self, request: web.Request, ref: FunctionRef) -> Any:
        """ListAliases (``FunctionVersion``: only the aliases naming that version)."""
        await self._function(ref)
        only = request.query.get("FunctionVersion")
        aliases = [
            control_shapes.alias_configuration(a, self._region)
            for a in await self._store.aliases(ref.namespace, ref.name)
        ]
        if only:
            aliases = [a for a in aliases if a["FunctionVersion"] == only]
        return 200, {"Aliases": aliases}

    # --------------------------------------------------------------- concurrency

    async def put_concurrency(self, request: web.Request, ref: FunctionRef) -> Any:
        """PutFunctionConcurrency: the Function's reserved concurrency."""
        body = control_shapes.json_object(await read_body(request, BODY_LIMIT))
        reserved = control_shapes.reserved(body)
        await self._function(ref)
        await self._store.patch(api.PLURAL, ref.namespace, ref.name,
                                {"spec": {"concurrency": {"reserved": reserved}}})  # fmt: skip
        return 200, {"ReservedConcurrentExecutions": reserved}

    async def delete_concurrency(self, request: web.Request, ref: FunctionRef) -> Any:
        """DeleteFunctionConcurrency: 204; the Function shares the unreserved pool again."""
        await self._function(ref)
        await self._store.patch(api.PLURAL, ref.namespace, ref.name,
                                {"spec": {"concurrency": {"reserved": None}}})  # fmt: skip
        return no_content(request)

    async def get_concurrency(self, _request: web.Request, ref: FunctionRef) -> Any:
        """GetFunctionConcurrency: ``{}`` when none is reserved."""
        found = await self._function(ref)
        reserved = ((found.get("spec") or {}).get("concurrency") or {}).get("reserved")
        return 200, ({} if reserved is None else {"ReservedConcurrentExecutions": reserved})

    async def put_provisioned(self, request: web.Request, ref: FunctionRef) -> Any:
        """PutProvisionedConcurrencyConfig: 202, the version's own provisioned concurrency."""
        body = control_shapes.json_object(await read_body(request, BODY_LIMIT))
        count = control_shapes.provisioned(body)
        version = await self._named_version(ref, _qualifier(request))
        name = str(version["metadata"]["name"])
        patched = await self._store.patch(function_version.PLURAL, ref.namespace, name,
                                          {"spec": {"provisionedConcurrency": count}})  # fmt: skip
        return 202, control_shapes.provisioned_configuration(patched)

    async def get_provisioned(self, request: web.Request, ref: FunctionRef) -> Any:
        """GetProvisionedConcurrencyConfig: 404 when the version has none."""
        qualifier = _qualifier(request)
        version = await self._named_version(ref, qualifier)
        if not (version.get("spec") or {}).get("provisionedConcurrency"):
            raise provisioned_config_not_found(
                f"No Provisioned Concurrency Config found for this function: "
                f"{self._arn(ref, qualifier)}"
            )
        return 200, control_shapes.provisioned_configuration(version)


def _qualifier(request: web.Request) -> str:
    qualifier = request.query.get("Qualifier")
    if not qualifier:
        raise invalid_parameter("Qualifier is required: a version's number or an alias.")
    return qualifier
