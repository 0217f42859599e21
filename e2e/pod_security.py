"""The security context of the pods the e2e tests make themselves: the restricted Pod
Security profile, which function pods run under too."""

from __future__ import annotations

from kubernetes import client


def restricted(run_as_user: int | None = None) -> client.V1SecurityContext:
    """The restricted profile; ``run_as_user`` for an image whose user is not numeric."""
    return client.V1SecurityContext(
        run_as_non_root=True,
        run_as_user=run_as_user,
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        capabilities=client.V1Capabilities(drop=["ALL"]),
        seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
    )
