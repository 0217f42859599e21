"""Which log lines belong to one invocation, for ``kappa logs --request-id``.

The agent brackets each invocation with Lambda's ``START RequestId: ID`` and ``REPORT
RequestId: ID`` lines; what the function prints in between is its output. With one slot
per pod (Lambda's model) that span is the invocation's alone; lines elsewhere that name
the id (an error, a line of the function's own) are kept too. Pure.
"""

from collections.abc import Iterable, Iterator


def request_lines(lines: Iterable[str], request_id: str) -> Iterator[str]:
    """The lines of ``lines`` that belong to the invocation ``request_id``, in order."""
    inside = False
    for line in lines:
        if f"START RequestId: {request_id}" in line:
            inside = True
        if inside or request_id in line:
            yield line
        if f"REPORT RequestId: {request_id}" in line:
            inside = False
