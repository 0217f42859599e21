"""What the Lambda API's handlers share: how they answer, and the objects they look up.

A handler takes the request and the ``FunctionName`` it names, and returns ``(status,
body)`` or a whole response. ``answering`` parses the name (400 when it names no
Function), turns a GatewayError into Lambda's error, the API server's refusals (a CEL
rule, a conflict) into Lambda's errors in its words, and any other failure into a
Lambda-shaped 500, logged: never aiohttp's bare one.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from aiohttp import web
from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from kappa.base.arn import function_arn
from kappa.gateway import catalog, request_ids
from kappa.gateway.control_store import ControlStore
from kappa.gateway.responses import error_response, json_response
from kappa.invocation.errors import (
    GatewayError,
    conflict,
    function_not_found,
    invalid_parameter,
    not_found,
    service_error,
)
from kappa.invocation.function_name import LATEST, FunctionRef, parse_function_name
from kappa.invocation.kube_view import function_summary, version_summary
from kappa.k8s.objects import api_message

log = logging.getLogger("kappa.gateway.control")

_CONFLICT: Final = 409
_INVALID: Final = 422
_NOT_FOUND: Final = 404

Handler = Callable[[web.Request, FunctionRef], Awaitable[Any]]


def answering(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """``handler`` as an aiohttp handler (see the module docstring)."""

    async def answer(request: web.Request) -> web.Response:
        request_id = request_ids.request_id(request)
        try:
            name = request.match_info.get("function_name")
            ref = parse_function_name(name) if name is not None else FunctionRef("", "")
            result = await handler(request, ref)
        except GatewayError as error:
            log.info("%s: %s", request_id, error)
            return error_response(error, request_id)
        except ApiException as exc:
            refused = api_error(exc)
            log.warning("%s: the API server refused: %s", request_id, refused)
            return error_response(refused, request_id)
        except Exception:  # a bug here is a Lambda-shaped 500, logged, never a bare one
            log.exception("%s: %s %s failed", request_id, request.method, request.path)
            failed = service_error("the gateway failed to answer; its log says why")
            return error_response(failed, request_id)
        if isinstance(result, web.Response):
            return result
        status, body = result
        return json_response(body, request_id, status)

    return answer


class LambdaApi:
    """The look-ups both APIs' handlers make: an object, or Lambda's 404 naming its ARN."""

    def __init__(self, store: ControlStore, region: str) -> None:
        self._store = store
        self._region = region

    def _arn(self, ref: FunctionRef, qualifier: str | None = None) -> str:
        arn = function_arn(self._region, ref.namespace, ref.name)
        return arn if qualifier in {None, LATEST} else f"{arn}:{qualifier}"

    async def _function(self, ref: FunctionRef) -> dict[str, Any]:
        found = await self._store.function(ref.namespace, ref.name)
        if found is None:
            raise function_not_found(self._arn(ref))
        return found

    def _configuration(self, obj: Mapping[str, Any], *, version: bool = False) -> dict[str, Any]:
        """Lambda's FunctionConfiguration of a Function (or, ``version``, a FunctionVersion)."""
        summary = (version_summary if version else function_summary)(obj, self._region)
        if isinstance(summary, str):
            raise service_error(summary)
        return catalog.configuration(summary)


def no_content(request: web.Request) -> web.Response:
    """204, as Lambda answers a deletion."""
    return web.Response(status=204, headers={"x-amzn-RequestId": request_ids.request_id(request)})


def api_error(exc: ApiException) -> GatewayError:
    """The API server's refusal as a Lambda error, in its own words."""
    message = api_message(exc)
    if exc.status == _INVALID:
        return invalid_parameter(message)
    if exc.status == _CONFLICT:
        return conflict(message)
    if exc.status == _NOT_FOUND:
        return not_found(message)
    return service_error(f"the gateway could not write this ({exc.status}): {message}")


def validation_problem(exc: ValidationError) -> str:
    """The first thing the API's models refuse, as ``where: what`` for a person."""
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}"
