"""The in-pod agent: a Lambda execution environment for one function pod.

It serves the Lambda Runtime API on 127.0.0.1 to one runtime process per slot
and ``/invoke`` to the gateway, prints Lambda's START/END/REPORT lines and
enforces the timeout. The contract it implements is
docs/internals/function-pods.md.

The agent runs on every cold start, so its import path is the standard library
only (no kopf, kubernetes, pydantic or aiohttp): see ``http11`` for why.
"""
