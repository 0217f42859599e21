"""An EventContext for shape tests."""

from typing import Any

from kappa.eventsources.source import EventContext


def context(block: Any, arn: str = "arn:kappa:test") -> EventContext:
    return EventContext(
        event_source_arn=arn,
        aws_region="us-east-1",
        function_arn="arn:aws:lambda:us-east-1:000000000000:function:f",
        block=block,
    )
