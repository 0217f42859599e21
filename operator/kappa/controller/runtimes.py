"""Which runtimes a Function may name here: the ones this installation has images for.

The CRD's schema accepts every runtime Kappa knows; an installation builds or
loads images for some of them (chart value ``runtimeImages.runtimes``). A Function
naming another would be accepted and then fail with ImagePullBackOff, so the
operator's admission webhook refuses it at apply time with this message. Pure.
"""

from collections.abc import Mapping, Sequence
from typing import Any


def runtime_refusal(body: Mapping[str, Any], available: Sequence[str]) -> str | None:
    """Why the Function ``body`` cannot run here (a runtime without an image), or None."""
    runtime = (body.get("spec") or {}).get("runtime")
    if not isinstance(runtime, str) or runtime in available:
        return None  # the schema refuses what is no runtime at all
    return (
        f"spec.runtime {runtime} is not installed in this cluster: use one of "
        f"{', '.join(available)} (the platform team adds runtimes with the chart value "
        "runtimeImages.runtimes and their images)"
    )
