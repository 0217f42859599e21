"""The Event a change of an object's ``Ready`` condition makes (``kubectl describe``)."""

from collections.abc import Mapping, Sequence
from typing import Any, cast

import kopf


def announce_ready(
    body: Mapping[str, Any],
    previous: Sequence[Mapping[str, Any]],
    conditions: Sequence[Mapping[str, Any]],
) -> None:
    """An Event when ``Ready`` (``conditions[0]``) changes status or reason.

    Normal when it turned True, Warning when False; nothing while it stays as it was.
    """
    about = body if isinstance(body, kopf.Body) else kopf.Body(cast("kopf.RawBody", body))
    before = next((c for c in previous if c.get("type") == "Ready"), {})
    ready = conditions[0]
    if (before.get("status"), before.get("reason")) == (ready["status"], ready["reason"]):
        return
    if ready["status"] == "True":
        kopf.info(about, reason=ready["reason"], message=ready["message"])
    else:
        kopf.warn(about, reason=ready["reason"], message=ready["message"])
