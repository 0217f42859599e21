"""Hostile AdmissionReviews get a 400 that names what is missing, before kopf reads them
(kopf answered a JSON array, a request without a resource or a string object with a 500)."""

import asyncio
import copy
from typing import Any

import aiohttp.web
import pytest

from kappa.controller.admission_review import review_problem
from kappa.controller.quota import refusing_malformed

REVIEW: dict[str, Any] = {
    "apiVersion": "admission.k8s.io/v1",
    "kind": "AdmissionReview",
    "request": {
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
        "kind": {"group": "kappa.dev", "version": "v1alpha1", "kind": "Function"},
        "resource": {"group": "kappa.dev", "version": "v1alpha1", "resource": "functions"},
        "operation": "CREATE",
        "namespace": "team-a",
        "name": "orders",
        "object": {"metadata": {"name": "orders", "namespace": "team-a"}, "spec": {}},
        "oldObject": None,
        "userInfo": {"username": "alice"},
    },
}


def changed(path: tuple[str, ...], value: object) -> dict[str, Any]:
    review = copy.deepcopy(REVIEW)
    at: Any = review
    for key in path[:-1]:
        at = at[key]
    if value is KeyError:
        del at[path[-1]]
    else:
        at[path[-1]] = value
    return review


def test_a_review_the_api_server_sends_passes() -> None:
    assert review_problem(REVIEW) is None
    update = changed(("request", "oldObject"), {"metadata": {"name": "orders"}})
    assert review_problem(update) is None
    delete = changed(("request", "object"), None)
    delete["request"]["oldObject"] = {"metadata": {}}
    assert review_problem(delete) is None


@pytest.mark.parametrize(
    ("review", "named"),
    [
        pytest.param([], "JSON object", id="array"),
        pytest.param("review", "JSON object", id="string"),
        pytest.param(None, "JSON object", id="null"),
        pytest.param({"kind": "AdmissionReview"}, "no request", id="no-request"),
        pytest.param({"request": "x"}, "no request", id="request-a-string"),
        pytest.param(changed(("request", "uid"), KeyError), "uid", id="no-uid"),
        pytest.param(changed(("request", "uid"), ""), "uid", id="empty-uid"),
        pytest.param(changed(("request", "resource"), KeyError), "resource", id="no-resource"),
        pytest.param(changed(("request", "resource", "group"), 7), "resource", id="group-number"),
        pytest.param(changed(("request", "userInfo"), None), "userInfo", id="no-user"),
        pytest.param(changed(("request", "object"), None), "must be given", id="no-objects"),
        pytest.param(changed(("request", "object"), "x"), "objects", id="object-a-string"),
        pytest.param(changed(("request", "oldObject"), [1]), "objects", id="old-an-array"),
        pytest.param(changed(("request", "object", "metadata"), "x"), "metadata", id="metadata"),
    ],
)
def test_a_hostile_review_is_named(review: object, named: str) -> None:
    problem = review_problem(review)
    assert problem is not None
    assert named in problem


def test_the_server_refuses_a_malformed_review_with_a_400_and_never_calls_kopf() -> None:
    called: list[object] = []

    async def kopf_fn(request: object, **kwargs: Any) -> dict[str, Any]:
        called.append((request, kwargs))
        return {"response": {"allowed": True}}

    checked = refusing_malformed(kopf_fn)
    with pytest.raises(aiohttp.web.HTTPBadRequest) as refused:
        asyncio.run(checked([], webhook="quota"))
    assert refused.value.status == 400
    assert refused.value.text == "an AdmissionReview must be a JSON object\n"
    assert called == []
    answer = asyncio.run(checked(REVIEW, webhook="quota", headers={}))
    assert answer == {"response": {"allowed": True}}
    assert called == [(REVIEW, {"webhook": "quota", "headers": {}})]
