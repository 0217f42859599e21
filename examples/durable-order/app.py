"""An order as a durable execution (aws-durable-execution-sdk-python 3.0.0).

Reserve the stock, wait out a cooling-off period, wait for a person's approval (a
callback completed through the Lambda API), then charge and ship. The SDK checkpoints
each step's result through the gateway: the handler is invoked again after the wait and
after the approval, replays the steps from their checkpoints and so runs each step's
body once (its `STEP` line appears once in the logs however many invocations there were).
"""

import json
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, StepContext, durable_execution
from aws_durable_execution_sdk_python.config import Duration
from aws_durable_execution_sdk_python.types import WaitForCallbackContext


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    order = str(event["order"])
    quantity = int(event.get("quantity", 1))

    def reserve(step: StepContext) -> str:
        print(f"STEP reserve {order} attempt {step.attempt}")
        return f"reserved {quantity} x {event.get('item', 'widget')}"

    def charge(step: StepContext) -> int:
        print(f"STEP charge {order} attempt {step.attempt}")
        return quantity * int(event.get("price", 5))

    def ship(step: StepContext) -> str:
        print(f"STEP ship {order} attempt {step.attempt}")
        return f"shipped {order}"

    def ask_for_approval(callback_id: str, _: WaitForCallbackContext) -> None:
        # A real order would mail the id to an approver; run.sh reads it from the history.
        print(f"APPROVAL {order} callback {callback_id}")

    reserved = context.step(reserve, name="reserve")
    context.wait(Duration.from_seconds(int(event.get("coolOffSeconds", 10))), name="cool-off")
    # The callback's result arrives as sent (SendDurableExecutionCallbackSuccess's Result).
    approval = json.loads(context.wait_for_callback(ask_for_approval, name="approval"))
    if not approval.get("approved"):
        return {"order": order, "status": "rejected", "reserved": reserved}
    total = context.step(charge, name="charge")
    shipped = context.step(ship, name="ship")
    return {"order": order, "status": "shipped", "reserved": reserved, "total": total,
            "shipped": shipped, "approvedBy": approval.get("by")}  # fmt: skip
