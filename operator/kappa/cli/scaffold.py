"""What ``kappa init`` writes: a function folder for a runtime, ready for ``kappa deploy``.

Pure: the files are returned as a mapping of relative path to text; ``author`` writes them.
"""

from collections.abc import Mapping
from typing import Final

from kappa.api.function import NODEJS_RUNTIMES, PYTHON_RUNTIMES

RUNTIMES: Final = PYTHON_RUNTIMES + NODEJS_RUNTIMES
"""The runtimes ``init`` and ``deploy`` know how to package (not ``provided`` nor ``image``)."""

DEFAULT_HANDLERS: Final = dict.fromkeys(PYTHON_RUNTIMES, "app.handler") | dict.fromkeys(
    NODEJS_RUNTIMES, "index.handler"
)

_PYTHON_APP: Final = '''\
import json


def handler(event, context):
    """Called once per invocation: `event` is the JSON payload, the return value the answer."""
    print("event: " + json.dumps(event))
    return {"message": "hello from " + context.function_name, "input": event}
'''

_PYTHON_REQUIREMENTS: Final = """\
# One requirement per line (pip's format). `kappa deploy` installs them for the
# runtime's Python on Linux (manylinux wheels) and packages them with the code.
"""

_NODE_APP: Final = """\
exports.handler = async (event, context) => {
  console.log("event: " + JSON.stringify(event));
  return { message: "hello from " + context.functionName, input: event };
};
"""


def _package_json(name: str) -> str:
    return (
        "{\n"
        f'  "name": "{name}",\n'
        '  "version": "1.0.0",\n'
        '  "private": true,\n'
        '  "main": "index.js",\n'
        '  "dependencies": {}\n'
        "}\n"
    )


def _kappa_yaml(name: str, runtime: str) -> str:
    return (
        "# What `kappa deploy` deploys from this folder; its flags override each line.\n"
        f"name: {name}\n"
        f"runtime: {runtime}\n"
        f"handler: {DEFAULT_HANDLERS[runtime]}\n"
        "memoryMB: 256\n"
        "timeoutSeconds: 30\n"
    )


def scaffold(name: str, runtime: str) -> Mapping[str, str]:
    """The files of a new function folder (ValueError for a runtime ``init`` cannot scaffold)."""
    if runtime not in RUNTIMES:
        msg = f"unknown runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}"
        raise ValueError(msg)
    files = {"kappa.yaml": _kappa_yaml(name, runtime)}
    if runtime in PYTHON_RUNTIMES:
        files |= {"app.py": _PYTHON_APP, "requirements.txt": _PYTHON_REQUIREMENTS}
    else:
        files |= {"index.js": _NODE_APP, "package.json": _package_json(name)}
    return files
