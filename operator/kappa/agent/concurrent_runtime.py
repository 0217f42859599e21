"""Kappa's python runtime for ``perRuntime`` over 1: ``python3 concurrent_runtime.py HANDLER``.

Runs under the *runtime's* interpreter (the python image's bootstrap starts it when
``AWS_LAMBDA_MAX_CONCURRENCY`` is set), beside awslambdaric, whose helpers it uses;
it never imports ``kappa``. It follows Lambda Managed Instances' contract: up to
``AWS_LAMBDA_MAX_CONCURRENCY`` (N) calls to ``/next`` at once, each answered on
``/response`` or ``/error`` by its request id.

- An ``async def`` handler: N loops on one asyncio event loop, each ``GET /next``,
  ``await handler(event, context)``, ``POST`` the answer, again; N calls share the
  process, its globals and its event loop (one that blocks the loop blocks them all).
  awslambdaric would return the coroutine unawaited, and AWS's Python for Managed
  Instances runs one call per process.
- Any other handler: awslambdaric's own multi-concurrency mode (N processes forked
  after the handler's module is imported here, one call each), as Lambda's Python.
- A handler that cannot be loaded: the init error as awslambdaric reports it
  (``Runtime.ImportModuleError``...) on ``/init/error``, then exit 1.

Logging records carry the request id of the call whose task wrote them
(awslambdaric's format, the id from a context variable instead of its global), so
the agent can give each call its lines; ``print`` output carries none.
``_X_AMZN_TRACE_ID`` is not set (one variable cannot hold N calls' trace ids).
"""

import asyncio
import contextvars
import inspect
import logging
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, Final

_PREFIX: Final = "/2018-06-01/runtime"
_REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("aws_request_id", default="")
Headers = dict[str, str]


class RuntimeApiError(Exception):
    """The Runtime API answered a call with an error status."""


class RuntimeApi:
    """One keep-alive HTTP/1.1 connection to the agent's Runtime API (one per loop)."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self._host, self._port = host, int(port)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def call(
        self, method: str, path: str, body: bytes = b"", headers: Headers | None = None
    ) -> tuple[int, Headers, bytes]:
        """One request and its answer: (status, headers in lower case, body)."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        reader, writer = self._reader, self._writer
        assert reader is not None  # noqa: S101 - opened together
        head = [f"{method} {_PREFIX}{path} HTTP/1.1", f"Host: {self._host}:{self._port}"]
        head += [f"{name}: {value}" for name, value in (headers or {}).items()]
        head.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("the Runtime API closed the connection")
        status = int(status_line.split()[1])
        answer: Headers = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            answer[name.strip().lower()] = value.strip()
        # The agent's Runtime API always sends Content-Length.
        data = await reader.readexactly(int(answer.get("content-length", "0")))
        return status, answer, data


class _RequestIdFilter(logging.Filter):
    """awslambdaric's record fields, with the request id of the task that logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _REQUEST_ID.get()
        record.tenant_id = None
        return True


def load(handler_name: str) -> tuple[Callable[..., Any] | None, dict[str, Any] | None]:
    """(the handler, None), or (None, the init error as awslambdaric words it)."""
    from awslambdaric import bootstrap  # noqa: PLC0415 - after the environment is final
    from awslambdaric.lambda_runtime_exception import FaultException  # noqa: PLC0415

    try:
        return bootstrap._get_handler(handler_name), None  # noqa: SLF001 - its own loader
    except FaultException as exc:
        return None, bootstrap.make_error(exc.msg, exc.exception_type, exc.trace)
    except Exception:  # noqa: BLE001 - the handler's module raised: its init error
        return None, bootstrap.build_fault_result(sys.exc_info(), None)


class Loop:
    """The N loops of an ``async def`` handler."""

    def __init__(self, handler: Callable[..., Any], address: str, concurrency: int) -> None:
        from awslambdaric import bootstrap  # noqa: PLC0415
        from awslambdaric.lambda_runtime_marshaller import LambdaMarshaller  # noqa: PLC0415

        self._bootstrap = bootstrap
        self._marshaller = LambdaMarshaller()
        self._handler = handler
        self._address = address
        self._concurrency = concurrency
        self._sink = bootstrap.create_log_sink()

    async def run(self) -> None:
        """Serve until the process is stopped."""
        loops = [asyncio.create_task(self._serve()) for _ in range(self._concurrency)]
        await asyncio.gather(*loops)

    async def _serve(self) -> None:
        api = RuntimeApi(self._address)
        while True:
            status, headers, body = await api.call("GET", "/invocation/next")
            if status != 200:  # noqa: PLR2004 - HTTP OK
                raise RuntimeApiError(f"/next answered {status}: {body[:200]!r}")
            request_id = headers.get("lambda-runtime-aws-request-id", "")
            token = _REQUEST_ID.set(request_id)
            try:
                await self._invoke(api, request_id, headers, body)
            finally:
                _REQUEST_ID.reset(token)

    async def _invoke(
        self, api: RuntimeApi, request_id: str, headers: Headers, body: bytes
    ) -> None:
        bootstrap = self._bootstrap
        try:
            context = bootstrap.create_lambda_context(
                headers.get("lambda-runtime-client-context"),
                headers.get("lambda-runtime-cognito-identity"),
                int(headers.get("lambda-runtime-deadline-ms", "0")),
                request_id,
                headers.get("lambda-runtime-invoked-function-arn"),
                headers.get("lambda-runtime-aws-tenant-id"),
            )
            event = self._marshaller.unmarshal_request(
                body, headers.get("content-type", "application/json")
            )
            result = await self._handler(event, context)
            payload, content_type = self._marshaller.marshal_response(result)
        except Exception as exc:  # noqa: BLE001 - every failure of the call is its error
            error = self._error(exc, request_id)
            bootstrap.log_error(error, self._sink)
            data = bootstrap.to_json(error).encode()
            await api.call(
                "POST",
                f"/invocation/{request_id}/error",
                data,
                {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Function-Error-Type": str(error["errorType"]),
                },
            )
            return
        data = payload.encode() if isinstance(payload, str) else payload
        await api.call(
            "POST", f"/invocation/{request_id}/response", data, {"Content-Type": content_type}
        )

    def _error(self, exc: BaseException, request_id: str) -> dict[str, Any]:
        """Lambda's error JSON, as awslambdaric's ``handle_event_request`` makes it."""
        bootstrap = self._bootstrap
        message, error_type, trace = str(exc), type(exc).__name__, None
        if hasattr(exc, "exception_type"):  # awslambdaric's FaultException (marshalling)
            message, error_type, trace = exc.msg, exc.exception_type, exc.trace  # type: ignore[attr-defined]
        if trace is None:
            frames = bootstrap.extract_traceback(exc.__traceback__)
            frames = [f for f in frames if "concurrent_runtime.py" not in f[0]]
            trace = traceback.format_list(frames)
        return dict(bootstrap.make_error(message, error_type, trace, request_id))


def _setup_logging() -> None:
    """Logging as awslambdaric's (format, level, sink), the request id taken from the task."""
    from awslambdaric import bootstrap  # noqa: PLC0415

    sys.stdout = bootstrap.Unbuffered(sys.stdout)
    sys.stderr = bootstrap.Unbuffered(sys.stderr)
    original = bootstrap.LambdaLoggerFilter
    bootstrap.LambdaLoggerFilter = _RequestIdFilter  # the name _setup_logging reads
    try:
        bootstrap._setup_logging(  # noqa: SLF001 - awslambdaric's own format and levels
            bootstrap._AWS_LAMBDA_LOG_FORMAT,  # noqa: SLF001
            bootstrap._AWS_LAMBDA_LOG_LEVEL,  # noqa: SLF001
            bootstrap.create_log_sink(),
        )
    finally:
        bootstrap.LambdaLoggerFilter = original


async def _post_init_error(address: str, error: dict[str, Any]) -> None:
    from awslambdaric import bootstrap  # noqa: PLC0415

    await RuntimeApi(address).call(
        "POST",
        "/init/error",
        bootstrap.to_json(error).encode(),
        {"Lambda-Runtime-Function-Error-Type": str(error.get("errorType", ""))},
    )


def main(argv: list[str]) -> int:
    """Load the handler, then serve it concurrently (see the module docstring)."""
    handler_name = argv[1]
    address = os.environ["AWS_LAMBDA_RUNTIME_API"]
    concurrency = int(os.environ["AWS_LAMBDA_MAX_CONCURRENCY"])
    _setup_logging()
    handler, error = load(handler_name)
    if error is not None:
        from awslambdaric import bootstrap  # noqa: PLC0415

        bootstrap.log_error(error, bootstrap.create_log_sink())
        asyncio.run(_post_init_error(address, error))
        return 1
    if not inspect.iscoroutinefunction(handler):
        from awslambdaric.__main__ import main as awslambdaric_main  # noqa: PLC0415

        logging.getLogger().handlers.clear()  # awslambdaric sets up its own
        awslambdaric_main(["awslambdaric", handler_name])
        return 0
    assert handler is not None  # noqa: S101 - load returns one or the other
    asyncio.run(Loop(handler, address, concurrency).run())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
