"""Who a caller is, in Kubernetes' terms: a user name, groups, a uid and extra fields.

A bearer token becomes the Subject its TokenReview names; an access key becomes the
Subject its Secret names; no credentials at all is :data:`ANONYMOUS`.
"""

from dataclasses import dataclass
from typing import Final

SERVICE_ACCOUNT_PREFIX: Final = "system:serviceaccount:"
# What a projected ServiceAccount token's TokenReview says of the pod it was made for.
POD_NAME_EXTRA: Final = "authentication.kubernetes.io/pod-name"
AUTHENTICATED: Final = "system:authenticated"


@dataclass(frozen=True, slots=True)
class Subject:
    """An authenticated (or anonymous) caller, as SubjectAccessReview takes it."""

    user: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def anonymous(self) -> bool:
        """Whether no credentials were given."""
        return self.user == ANONYMOUS_USER

    @property
    def pod(self) -> str | None:
        """The pod a projected ServiceAccount token was made for (the review's extra), if any."""
        names = dict(self.extra).get(POD_NAME_EXTRA, ())
        return names[0] if names and names[0] else None

    def __str__(self) -> str:
        """The name a person reads in an error or a log line."""
        return self.user


ANONYMOUS_USER: Final = "system:anonymous"
ANONYMOUS: Final = Subject(ANONYMOUS_USER, ("system:unauthenticated",))


def service_account(namespace: str, name: str) -> Subject:
    """The Subject of ServiceAccount ``namespace/name``, with the groups the API server gives it."""
    return Subject(
        f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}",
        ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED),
    )


def user(name: str, groups: tuple[str, ...] = ()) -> Subject:
    """The Subject of a user named ``name`` in ``groups`` (and ``system:authenticated``)."""
    return Subject(name, (*(g for g in groups if g != AUTHENTICATED), AUTHENTICATED))
