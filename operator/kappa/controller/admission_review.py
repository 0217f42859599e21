"""What an AdmissionReview must hold before kopf reads it (pure).

The webhook's port answers anyone who reaches it (the API server calls from the node's
address, so the NetworkPolicy cannot narrow it). kopf reads a review's ``request`` by
key and its objects as mappings: a JSON array, a request without a resource, or an
object that is a string made it fail with a 500. ``review_problem`` says what is missing,
for a 400 that names it; kopf's server already bounds the body (1 MiB, a 413 above) and
answers JSON that does not parse with a 400.
"""

from typing import Final

_RESOURCE_FIELDS: Final = ("group", "version", "resource")


def review_problem(review: object) -> str | None:
    """Why ``review`` (parsed JSON) is not an AdmissionReview kopf can read, or None."""
    if not isinstance(review, dict):
        return "an AdmissionReview must be a JSON object"
    request = review.get("request")
    if not isinstance(request, dict):
        return "the AdmissionReview has no request object"
    return _request_problem(request) or _objects_problem(request)


def _request_problem(request: dict[str, object]) -> str | None:
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        return "request.uid must be a non-empty string"
    resource = request.get("resource")
    if not isinstance(resource, dict) or not all(
        isinstance(resource.get(field), str) for field in _RESOURCE_FIELDS
    ):
        return "request.resource must name its group, version and resource as strings"
    if not isinstance(request.get("userInfo"), dict):
        return "request.userInfo must be an object"
    return None


def _objects_problem(request: dict[str, object]) -> str | None:
    objects = [request.get("object"), request.get("oldObject")]
    if all(body is None for body in objects):
        return "request.object or request.oldObject must be given"
    for body in objects:
        if body is None:
            continue
        if not isinstance(body, dict):
            return "request.object and request.oldObject must be objects (or null)"
        if not isinstance(body.get("metadata", {}), dict):
            return "an object's metadata must be an object"
    return None
