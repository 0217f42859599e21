"""The API calls `Objects` makes, seen at the client's HTTP layer (no server)."""

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kappa.k8s.objects import Objects


@dataclass
class Response:
    status: int = 200
    reason: str = "OK"
    data: bytes = b"{}"

    def getheaders(self) -> dict[str, str]:
        return {}

    def getheader(self, _name: str, default: str | None = None) -> str | None:
        return default


@dataclass
class Recorder:
    answer: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, url: str, **kwargs: Any) -> Response:
        self.requests.append({"url": url, **kwargs})
        if self.answer != 200:
            refusal = ApiException(status=self.answer, reason="Refused")
            refusal.body = b'{"kind": "Status"}'
            raise refusal
        return Response()


def objects_with(recorder: Recorder) -> Objects:
    api = client.ApiClient(client.Configuration(host="https://kube.invalid"))
    api.rest_client.PATCH = recorder  # type: ignore[method-assign]
    return Objects(api)


def test_adding_an_owner_is_a_strategic_merge_that_keeps_the_others() -> None:
    recorder = Recorder()
    reference = {"apiVersion": "kappa.dev/v1alpha1", "kind": "Function", "name": "fn",
                 "uid": "uid-1"}  # fmt: skip
    asyncio.run(objects_with(recorder).add_owner_reference("team-a", "fn-package", reference))
    (request,) = recorder.requests
    assert request["url"].endswith("/api/v1/namespaces/team-a/configmaps/fn-package")
    # Owner references merge by uid under a strategic merge patch: no other owner is lost.
    assert request["headers"]["Content-Type"] == "application/strategic-merge-patch+json"
    body = request["body"] if isinstance(request["body"], dict) else json.loads(request["body"])
    assert body == {"metadata": {"ownerReferences": [reference]}}


def test_adding_an_owner_to_a_configmap_gone_meanwhile_is_no_error() -> None:
    asyncio.run(objects_with(Recorder(answer=404)).add_owner_reference("ns", "gone", {}))


def test_another_refusal_is_raised() -> None:
    with pytest.raises(ApiException):
        asyncio.run(objects_with(Recorder(answer=403)).add_owner_reference("ns", "cm", {}))
