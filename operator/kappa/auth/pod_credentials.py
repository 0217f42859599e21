"""The ``KAPPAPOD`` access key: a durable Function's pod credential, as the gateway checks it.

A pod's agent serves its runtimes a credential made from the pod's projected
ServiceAccount token (``kappa.agent.credentials``; the derivation is
``kappa.base.pod_credential``). A request signed with it carries the token as
``X-Amz-Security-Token``; :class:`kappa.auth.guard.Guard` then:

1. bounds the token and checks that the key id names it (:func:`token_of`);
2. has it reviewed (TokenReview, the audiences bearer tokens take, cached as theirs);
3. verifies the SigV4 signature with the secret derived from the token;
4. takes the review's subject as the caller, the pod's ServiceAccount with its groups,
   the pod named by the review's extra ``authentication.kubernetes.io/pod-name`` kept on
   it (:attr:`kappa.auth.subject.Subject.pod`; the durable token routes check the pod
   belongs to the execution's Function) (:func:`pod_subject`).

Refusals are 401 ``UnrecognizedClientException`` (no, malformed or unreviewed token, a
token that is not a pod's ServiceAccount token) or 403 ``InvalidSignatureException``
(the signature); an API server that does not answer is 503 ``ServiceException``
(:func:`unavailable`): durable SDKs fail an execution for good on a 4xx, never on a 5xx.
Pure: the review's answer is an argument.
"""

from typing import Final

from kappa.auth.subject import SERVICE_ACCOUNT_PREFIX, Subject
from kappa.base.pod_credential import access_key_id, is_pod_key, usable_token
from kappa.invocation.errors import GatewayError, service_error, unrecognized_client

__all__ = ["is_pod_key", "pod_subject", "token_of", "unavailable"]

SECURITY_TOKEN_HEADER: Final = "X-Amz-Security-Token"  # noqa: S105 - a header's name


def token_of(key_id: str, security_token: str | None) -> str:
    """The projected token a ``KAPPAPOD`` key was made from; 401 when it is not usable."""
    token = (security_token or "").strip()
    if not token:
        raise unrecognized_client(
            f"The access key {key_id} is a pod credential: the request must carry its "
            f"token as {SECURITY_TOKEN_HEADER}."
        )
    if not usable_token(token):
        raise unrecognized_client(
            f"{SECURITY_TOKEN_HEADER} must be a Kubernetes token of printable characters, at "
            "most 8000."
        )
    if access_key_id(token) != key_id:
        raise unrecognized_client(
            f"The access key {key_id} was not made from the {SECURITY_TOKEN_HEADER} sent."
        )
    return token


def pod_subject(reviewed: Subject | None) -> Subject:
    """The caller a pod credential names: its pod's ServiceAccount, the pod on it; else 401."""
    if reviewed is None:
        raise unrecognized_client(
            "The pod credential's token was not accepted by Kubernetes: it is expired, "
            "revoked, or not for audience 'kappa'."
        )
    if not reviewed.user.startswith(SERVICE_ACCOUNT_PREFIX) or reviewed.pod is None:
        raise unrecognized_client(
            "A pod credential takes a pod's projected ServiceAccount token (bound to a pod); "
            f"this one names {reviewed.user}, no pod."
        )
    return reviewed


def unavailable(error: GatewayError) -> GatewayError:
    """The review could not be made (the API server's trouble): 503, never a 4xx."""
    message = str(error.body.get("Message") or "Kappa could not check the pod credential.")
    return service_error(message, status=503)
