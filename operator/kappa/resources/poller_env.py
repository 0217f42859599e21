"""How a poller's credentials travel: the names of the variables that carry them.

The operator writes each credential field of an EventSourceMapping's Secret
references into the poller's pod as one variable (``resources.poller_deployment``);
the poller reads them back (``eventsources.settings``). One home for the naming,
below both.
"""

import re
from typing import Final

SECRET_PREFIX: Final = "KAPPA_ESM_SECRET_"  # noqa: S105 - a variable name, no secret


def secret_variable(field: str) -> str:
    """The variable of a credential field: ``accessKeyId`` → ``KAPPA_ESM_SECRET_ACCESS_KEY_ID``."""
    return SECRET_PREFIX + re.sub(r"(?<!^)(?=[A-Z])", "_", field).upper()


def field_name(variable: str) -> str:
    """The credential field of a variable (inverse of ``secret_variable``)."""
    head, *rest = variable.removeprefix(SECRET_PREFIX).lower().split("_")
    return head + "".join(part.capitalize() for part in rest)
