"""Reading a SAM resource's properties, and the lines that say what was not mapped.

A ``PropertyReader`` hands out each property once, resolved (sam_intrinsics); what it
cannot resolve, and every property left unread at the end, becomes an ``Unmapped``
line: resource, property, why. ``Options`` are what the conversion assumes of the world
the template was written for (region, account, the SQS endpoint). Pure.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from kappa.cli.sam_intrinsics import Context, UnresolvedError, resolve

NOT_MAPPED: Final = "Kappa has no equivalent: left out"


@dataclass(frozen=True)
class Unmapped:
    """A property the conversion could not carry over, and why."""

    resource: str
    """The logical id, with the event's path: ``Fn.Events.Api``."""
    property: str
    why: str

    def line(self) -> str:
        """One line for stderr."""
        return f"{self.resource}: {self.property}: {self.why}"


@dataclass(frozen=True)
class Options:
    """What the conversion assumes of the AWS world the template names."""

    namespace: str | None = None
    """The objects' namespace; None: none written (kubectl apply -n decides)."""
    region: str = "us-east-1"
    account_id: str = "000000000000"
    stack_name: str = "sam-app"
    sqs_endpoint: str | None = None
    """Queues are at this SQS-compatible endpoint (ElasticMQ...); None: AWS's, by region."""
    parameters: Mapping[str, str] = field(default_factory=dict)
    """Parameter overrides (as sam deploy --parameter-overrides)."""

    @property
    def pseudo(self) -> dict[str, str]:
        """The pseudo parameters' values."""
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }


class PropertyReader:
    """The properties of one resource (or event), each read at most once."""

    def __init__(self, resource: str, properties: Any, context: Context) -> None:
        self.resource = resource
        self.context = context
        self.notes: list[Unmapped] = []
        if properties is None:
            properties = {}
        if not isinstance(properties, dict):
            self.note("Properties", "must be a mapping: the resource is left out")
            properties = {}
        self._left: dict[str, Any] = dict(properties)

    def note(self, name: str, why: str) -> None:
        """Report ``name`` as not mapped, for ``why``."""
        self.notes.append(Unmapped(self.resource, name, why))

    def has(self, name: str) -> bool:
        """``name`` is set and not read yet."""
        return name in self._left

    def get(self, name: str) -> Any:
        """The resolved value of ``name``, or None (unset, or noted as unresolvable)."""
        if name not in self._left:
            return None
        raw = self._left.pop(name)
        try:
            return resolve(raw, self.context)
        except UnresolvedError as error:
            self.note(name, f"{error}: left out")
            return None

    def raw(self, name: str) -> Any:
        """The unresolved value of ``name`` (for a caller that reads intrinsics itself)."""
        return self._left.pop(name, None)

    def finish(self, reasons: Mapping[str, str]) -> list[Unmapped]:
        """Every note, with one for each property not read (``reasons``: why, by name)."""
        for name in sorted(self._left):
            self.note(name, reasons.get(name, NOT_MAPPED))
        self._left.clear()
        return self.notes


_WORD_START: Final = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_NAME: Final = re.compile(r"[^a-z0-9]+")


def kappa_name(text: str, max_length: int = 63) -> str:
    """A DNS-1123 label from a logical id or an AWS name, cut to ``max_length``.

    ``HelloWorldFunction`` → ``hello-world-function``.
    """
    words = _WORD_START.sub("-", text).lower()
    name = _NOT_NAME.sub("-", words).strip("-")
    return name[:max_length].rstrip("-") or "unnamed"
