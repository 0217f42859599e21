"""Which Function or published version a call's qualifier sends it to. Pure.

A qualifier (``Qualifier=``, or the last part of a qualified ARN or name) is:

    $LATEST (or none)     the Function itself                       (ns, "hello")
    a number, e.g. 2      its published version 2                    (ns, "hello.2")
    an alias, e.g. live   the alias's version, or its second version
                          for the alias's share of the calls

Versions are in the Registry under ``(namespace, "<function>.<number>")`` (the
FunctionVersion's name; a Function's name holds no ``.``). An alias with
``routingConfig`` picks its version per call by ``draw`` (uniform in [0, 1), the shell's
random number): a draw below the second version's weight goes there, any other to the
alias's ``functionVersion``. So over many calls each version gets its share, and a
change of weights applies to the next call.
"""

from dataclasses import dataclass

from kappa.api.names import unit_name
from kappa.invocation.function_name import LATEST, FunctionRef
from kappa.invocation.routing import FunctionKey


@dataclass(frozen=True, slots=True)
class AliasRoute:
    """An alias: its version and, for a canary, a second version with its weight."""

    version: str  # a number, or $LATEST
    additional: tuple[tuple[str, float], ...] = ()


def is_number(qualifier: str) -> bool:
    """Whether ``qualifier`` names a version by number (ASCII digits only)."""
    return qualifier.isascii() and qualifier.isdigit()


def names_alias(qualifier: str) -> bool:
    """Whether ``qualifier`` can only be an alias's name (neither $LATEST nor a number)."""
    return qualifier != LATEST and not is_number(qualifier)


def pick_version(route: AliasRoute, draw: float) -> str:
    """The version a call with ``draw`` (in [0, 1)) goes to under ``route``."""
    bound = 0.0
    for version, weight in route.additional:
        bound += weight
        if draw < bound:
            return version
    return route.version


def version_key(namespace: str, function: str, version: str) -> FunctionKey:
    """The Registry key of ``version`` (a number, or $LATEST) of ``function``."""
    return (namespace, function if version == LATEST else unit_name(function, version))


def target(ref: FunctionRef, alias: AliasRoute | None, draw: float) -> FunctionKey | None:
    """The Registry key ``ref`` names; None for an alias that does not exist.

    ``alias`` is the route of the alias ``ref.qualifier`` names (None when there is none);
    it is not read for ``$LATEST`` or a number.
    """
    if ref.qualifier == LATEST:
        return ref.key
    if is_number(ref.qualifier):
        return version_key(ref.namespace, ref.name, ref.qualifier)
    if alias is None:
        return None
    return version_key(ref.namespace, ref.name, pick_version(alias, draw))
