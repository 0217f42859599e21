"""The Lambda API's event source mapping calls, on the gateway.

    CreateEventSourceMapping  POST   /2015-03-31/event-source-mappings/        create
    ListEventSourceMappings   GET    /2015-03-31/event-source-mappings/        list
    GetEventSourceMapping     GET    /2015-03-31/event-source-mappings/{UUID}  get
    UpdateEventSourceMapping  PUT    /2015-03-31/event-source-mappings/{UUID}  update
    DeleteEventSourceMapping  DELETE /2015-03-31/event-source-mappings/{UUID}  delete

each of ``eventsourcemappings.kappa.dev`` in the mapping's namespace (the chart's
``kappa-author`` grants the writes, ``kappa-viewer`` the reads). A mapping's ``UUID``
is its object's uid, as Lambda's is a UUID; the path holds no namespace, so these
calls are authorised here once the mapping is found, not by the route. A UUID that
names no mapping is 404; one of a namespace the caller may not read is 403, as any
other refusal (a uid is not guessable). Bodies map onto the ``EventSourceMapping``
resource as ``kappa.gateway.esm_shapes`` says; writes use the gateway's account with
the Lambda API's field manager, so ``kubectl get esm`` and GitOps tools see them.
"""

import secrets
from typing import Any, Final

from aiohttp import web
from pydantic import ValidationError

from kappa.api import event_source_mapping as esm
from kappa.api.names import DNS1123_LABEL_MAX_LENGTH, GROUP, VERSION
from kappa.auth.access import Access, Verb
from kappa.auth.guard import Guard
from kappa.gateway import authn, catalog, control_shapes, esm_shapes
from kappa.gateway.body import read_body
from kappa.gateway.control_store import ControlStore
from kappa.gateway.lambda_handlers import LambdaApi, answering, validation_problem
from kappa.invocation.errors import invalid_parameter, not_found
from kappa.invocation.function_name import FunctionRef, parse_function_name

MAPPINGS_ROUTE: Final = "/2015-03-31/event-source-mappings/"
MAPPING_ROUTE: Final = "/2015-03-31/event-source-mappings/{uuid}"
BODY_LIMIT: Final = 64 * 1024
_NAME_ROOM: Final = DNS1123_LABEL_MAX_LENGTH - 4 - 9  # esm-<name>, and -<8 hex digits>


class EventSourceMappingApi(LambdaApi):
    """The handlers; ``add_routes`` puts them on the gateway's application."""

    def __init__(self, store: ControlStore, guard: Guard, region: str) -> None:
        super().__init__(store, region)
        self._guard = guard

    def add_routes(self, app: web.Application) -> None:
        """Register the five calls (the collection with and without its final slash)."""
        for path in (MAPPINGS_ROUTE, MAPPINGS_ROUTE.rstrip("/")):
            app.router.add_post(path, answering(self.create))
            app.router.add_get(path, answering(self.list), allow_head=False)
        app.router.add_get(MAPPING_ROUTE, answering(self.get), allow_head=False)
        app.router.add_put(MAPPING_ROUTE, answering(self.update))
        app.router.add_delete(MAPPING_ROUTE, answering(self.delete))

    async def _require(
        self, request: web.Request, verb: Verb, namespace: str, name: str = ""
    ) -> None:
        await self._guard.require(
            authn.subject(request), Access(verb, namespace, name, plural=esm.PLURAL)
        )

    async def _mapping(self, request: web.Request, verb: Verb) -> dict[str, Any]:
        """The mapping the path's UUID names, once the caller may ``verb`` it."""
        uid = esm_shapes.uuid(request.match_info["uuid"])
        for item in await self._store.mappings(None):
            metadata = item.get("metadata") or {}
            if metadata.get("uid") == uid:
                await self._require(
                    request, verb, str(metadata["namespace"]), str(metadata["name"])
                )
                return item
        raise not_found(f"The resource you requested does not exist: event source mapping {uid}.")

    async def create(self, request: web.Request, _ref: FunctionRef) -> Any:
        """CreateEventSourceMapping: 202 with the new mapping (State Creating)."""
        body = control_shapes.json_object(await read_body(request, BODY_LIMIT))
        wanted = esm_shapes.create_request(body)
        ref = wanted.function
        await self._require(request, Verb.CREATE, ref.namespace)
        await self._function(ref)
        name = f"{ref.name[:_NAME_ROOM].rstrip('-.')}-{secrets.token_hex(4)}"
        manifest = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": esm.KIND,
            "metadata": {"name": name, "namespace": ref.namespace},
            "spec": wanted.spec,
        }
        try:
            esm.EventSourceMapping.model_validate(manifest)
        except ValidationError as exc:
            raise invalid_parameter(
                f"The mapping would be refused: {validation_problem(exc)}"
            ) from None
        made = await self._store.create(esm.PLURAL, manifest)
        return 202, esm_shapes.configuration(made, self._region)

    async def get(self, request: web.Request, _ref: FunctionRef) -> Any:
        """GetEventSourceMapping."""
        return 200, esm_shapes.configuration(await self._mapping(request, Verb.GET), self._region)

    async def update(self, request: web.Request, _ref: FunctionRef) -> Any:
        """UpdateEventSourceMapping: 202; what the body gives changes, the rest stays."""
        body = control_shapes.json_object(await read_body(request, BODY_LIMIT))
        current = await self._mapping(request, Verb.UPDATE)
        patch, ref = esm_shapes.update_patch(body, current)
        if ref is not None:
            await self._function(ref)
        metadata = current["metadata"]
        patched = await self._store.patch(
            esm.PLURAL, metadata["namespace"], metadata["name"], {"spec": patch}
        )
        return 202, esm_shapes.configuration(patched, self._region)

    async def delete(self, request: web.Request, _ref: FunctionRef) -> Any:
        """DeleteEventSourceMapping: 202 with the mapping as it was (State Deleting)."""
        current = await self._mapping(request, Verb.DELETE)
        metadata = current["metadata"]
        await self._store.delete(esm.PLURAL, metadata["namespace"], metadata["name"])
        gone = {**current, "metadata": {**metadata, "deletionTimestamp": "now"}}
        return 202, esm_shapes.configuration(gone, self._region)

    async def list(self, request: web.Request, _ref: FunctionRef) -> Any:
        """ListEventSourceMappings: of one Function, or in every namespace the caller may list."""
        most = catalog.parse_max_items(request.query.get("MaxItems"))
        name = request.query.get("FunctionName")
        caller = authn.subject(request)
        if name:
            ref = parse_function_name(name)
            await self._require(request, Verb.LIST, ref.namespace)
            items = [
                item
                for item in await self._store.mappings(ref.namespace)
                if ((item.get("spec") or {}).get("functionRef") or {}).get("name") == ref.name
            ]
        else:
            items = await self._store.mappings(None)
            namespaces = {str((i.get("metadata") or {}).get("namespace")) for i in items}
            visible = {
                namespace
                for namespace in sorted(namespaces)
                if await self._guard.allowed(
                    caller, Access(Verb.LIST, namespace, plural=esm.PLURAL)
                )
            }
            items = [i for i in items if (i.get("metadata") or {}).get("namespace") in visible]
        source = request.query.get("EventSourceArn")
        configurations = [(i, esm_shapes.configuration(i, self._region)) for i in items]
        if source:  # an SQS queue by its ARN, or by the URL it was created with
            configurations = [
                (i, c) for i, c in configurations if source in {c.get("EventSourceArn"), _queue(i)}
            ]
        taken, marker = esm_shapes.page(
            [i for i, _ in configurations], request.query.get("Marker"), most
        )
        chosen = {id(i) for i in taken}
        answer: dict[str, Any] = {
            "EventSourceMappings": [c for i, c in configurations if id(i) in chosen]
        }
        if marker is not None:
            answer["NextMarker"] = marker
        return 200, answer


def _queue(mapping: dict[str, Any]) -> str | None:
    queue = ((mapping.get("spec") or {}).get("sqs") or {}).get("queueUrl")
    return queue if isinstance(queue, str) else None
