"""The in-pod agent: a Lambda execution environment for one function pod.

It serves the Lambda Runtime API on 127.0.0.1 to one runtime process per slot
and ``/invoke`` to the gateway, prints Lambda's START/END/REPORT lines and
enforces the timeout. The contract it implements is
docs/internals/function-pods.md.

Its place: a top-level process package, beside the controller, the gateway,
asyncq and eventsources and independent of them all. Of Kappa's packages it
imports :mod:`kappa.base` alone (``[tool.importlinter]`` in pyproject.toml). The
agent runs on every cold start, so its import path is the standard library and
h11 (its HTTP/1.1 parsing: sans-I/O and light): no kopf, kubernetes, pydantic
or aiohttp; see ``http11`` for why.
"""
