"""Names Kappa shares with the cluster: API group, version and label keys.

Every object made for a Function carries ``kappa.dev/function: <name>`` so that
``kubectl logs -l kappa.dev/function=NAME`` finds it; the label value has the
same limits as a DNS-1123 label, which is why Function names are checked here
rather than failing later at the API server.
"""

import re
from collections.abc import Mapping
from typing import Final

GROUP: Final = "kappa.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"

FUNCTION_LABEL: Final = f"{GROUP}/function"
# On the pods and code ConfigMaps of a published version (FunctionVersion): its number.
VERSION_LABEL: Final = f"{GROUP}/version"
COMPONENT_LABEL: Final = f"{GROUP}/component"
# A Layer's package ConfigMap: kappa.dev/layer NAME, kappa.dev/component layer.
LAYER_LABEL: Final = f"{GROUP}/layer"
LAYER_COMPONENT: Final = "layer"
FUNCTION_COMPONENT: Final = "function"
# The labels of every object Kappa makes for Functions (pods, code ConfigMaps), whichever
# Function: what the controller's watches select.
FUNCTION_OBJECTS: Final = {COMPONENT_LABEL: FUNCTION_COMPONENT}
# A WarmPool's pods: kappa.dev/component pool, kappa.dev/pool NAME (until one is claimed).
POOL_LABEL: Final = f"{GROUP}/pool"
POOL_COMPONENT: Final = "pool"
POOL_OBJECTS: Final = {COMPONENT_LABEL: POOL_COMPONENT}
# Every pod Kappa makes (a Function's, a version's, a pool's), as a label selector: the only
# pods the controller watches.
KAPPA_PODS: Final = f"{COMPONENT_LABEL} in ({FUNCTION_COMPONENT},{POOL_COMPONENT})"
# On a pod a Function took from a pool: <pool>, for the cold-start path it was.
CLAIMED_FROM_ANNOTATION: Final = f"{GROUP}/claimed-from"
CODE_SHA256_ANNOTATION: Final = f"{GROUP}/code-sha256"
"""The SHA-256 of the code an object carries (a code ConfigMap, a deployed package); on a
Function, a change of it asks the operator for a pass as a spec change does."""

DNS1123_LABEL_MAX_LENGTH: Final = 63

_ALLOWED_CHARACTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_DNS1123_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def _dns1123_label_problem(value: str) -> str | None:
    """Say what makes ``value`` not a DNS-1123 label, or None when it is one.

    Checks run from the most to the least actionable, so the message names the
    first thing a user has to change.
    """
    if not value:
        return "it is empty"
    if len(value) > DNS1123_LABEL_MAX_LENGTH:
        return f"it is {len(value)} characters long, the maximum is {DNS1123_LABEL_MAX_LENGTH}"
    bad = sorted({c for c in value if c not in _ALLOWED_CHARACTERS})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        hint = " (use lowercase)" if any(c.isupper() for c in bad) else ""
        return (
            f"it contains {shown}; only lowercase letters a-z, digits 0-9 and '-' are allowed{hint}"
        )
    if not _DNS1123_LABEL.fullmatch(value):
        return "it must start and end with a lowercase letter or a digit"
    return None


def validate_dns1123_label(value: str) -> str:
    """Return ``value`` unchanged if it is a DNS-1123 label; raise ValueError saying why not."""
    problem = _dns1123_label_problem(value)
    if problem is not None:
        raise ValueError(f"{value!r} is not a valid DNS-1123 label: {problem}")
    return value


def function_labels(name: str) -> dict[str, str]:
    """Labels for every object Kappa makes on behalf of the Function ``name``.

    Returns a fresh dict each call, so callers may add their own labels to it.
    """
    validate_dns1123_label(name)
    return {FUNCTION_LABEL: name, **FUNCTION_OBJECTS}


def unit_name(function: str, version: str | None) -> str:
    """The name of what a pod serves: the Function (``hello``) or one of its versions (``hello.2``).

    A Function's name holds no ``.``, so the two never meet.
    """
    return function if version is None else f"{function}.{version}"


def unit_parts(unit: str) -> tuple[str, str | None]:
    """``unit_name``'s inverse: (function, version number or None for the Function)."""
    function, dot, version = unit.partition(".")
    return function, (version if dot else None)


def unit_labels(function: str, version: str | None) -> dict[str, str]:
    """The labels of the objects made for ``function`` or for its version ``version``."""
    labels = function_labels(function)
    if version is not None:
        labels[VERSION_LABEL] = version
    return labels


def labelled_unit(labels: Mapping[str, str]) -> str:
    """What the object with ``labels`` serves (see ``unit_name``); empty when not a Function's."""
    function = labels.get(FUNCTION_LABEL, "")
    version = labels.get(VERSION_LABEL)
    return unit_name(function, version) if function and version else function
