"""The SQS source's AWS credentials from a pod identity, against a real ElasticMQ.

No real STS can run here, so STS is a stand-in: an aiohttp server in the test answering
AssumeRoleWithWebIdentity with the real STS XML, recording what it was sent (IRSA).
The EKS Pod Identity agent is one too: it answers with the JSON such agents serve. botocore's
own resolver finds it through ``AWS_ENDPOINT_URL_STS``, as it finds AWS's in a pod.
ElasticMQ checks no signature, so the requests reach it through a recording proxy, and
the test asserts on the keys and session tokens they were signed with.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web

from kappa.api.event_source_mapping import SqsSource as SqsBlock
from kappa.eventsources.source import SourceConfig
from kappa.eventsources.sqs import open_source

ROLE_ARN = "arn:aws:iam::123456789012:role/sqs-reader"
SESSION_NAME = "kappa-poller"
_STS_RESPONSE = """<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:shop:sqs-reader</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/sqs-reader/{session}</Arn>
      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:{session}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>{token}</SessionToken>
      <SecretAccessKey>{secret}</SecretAccessKey>
      <Expiration>{expiration}</Expiration>
      <AccessKeyId>{key_id}</AccessKeyId>
    </Credentials>
    <Provider>oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>{request_id}</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
"""


@dataclass
class IssuedSet:
    key_id: str
    secret: str
    token: str
    lifetime: timedelta


@dataclass
class StsStandIn:
    """Answers AssumeRoleWithWebIdentity with the next of ``sets`` (the last one again)."""

    sets: list[IssuedSet]
    calls: list[dict[str, list[str]]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    on_call: Callable[[], None] = lambda: None

    async def handle(self, request: web.Request) -> web.Response:
        form = parse_qs(await request.text())
        self.calls.append(form)
        self.headers.append(dict(request.headers))
        issued = self.sets[min(len(self.calls), len(self.sets)) - 1]
        self.on_call()
        body = _STS_RESPONSE.format(
            session=form.get("RoleSessionName", [""])[0],
            token=issued.token,
            secret=issued.secret,
            key_id=issued.key_id,
            expiration=(datetime.now(UTC) + issued.lifetime).strftime("%Y-%m-%dT%H:%M:%SZ"),
            request_id=uuid.uuid4(),
        )
        return web.Response(text=body, content_type="text/xml")


@dataclass
class RecordingProxy:
    """Passes SQS calls on to ElasticMQ, keeping the headers each came with."""

    upstream: str
    seen: list[dict[str, str]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append({k.lower(): v for k, v in request.headers.items()})
        forwarded = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in {"content-type", "x-amz-target", "authorization", "x-amz-date"}
        }
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.upstream, data=body, headers=forwarded) as answer,
        ):
            return web.Response(
                body=await answer.read(),
                status=answer.status,
                headers={"Content-Type": answer.headers.get("Content-Type", "")},
            )


async def _serve(
    handler: Callable[[web.Request], Any], method: str = "POST"
) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_route(method, "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/"


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text("projected-token-one")  # a projected token: no newline
    return path


@pytest.fixture
def web_identity_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, token_file: Path
) -> Callable[[str], None]:
    """The variables EKS writes into an IRSA pod, and nothing else AWS's chain would find."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_ROLE_ARN", ROLE_ARN)
    monkeypatch.setenv("AWS_ROLE_SESSION_NAME", SESSION_NAME)
    monkeypatch.setenv("AWS_STS_REGIONAL_ENDPOINTS", "regional")

    def point_at(sts_url: str) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts_url)

    return point_at


def _config(queue_url: str, endpoint: str, credentials: dict[str, str]) -> SourceConfig:
    block = SqsBlock.model_validate({"queueUrl": queue_url, "endpointUrl": endpoint})
    return SourceConfig(
        block=block,
        namespace="shop",
        mapping_name="orders",
        consumer_name="esm-orders-0",
        group="kappa-shop-orders",
        batch_size=10,
        region="us-east-1",
        credentials=credentials,
    )


def test_web_identity_credentials_are_used_and_refreshed_before_they_expire(
    elasticmq: Any,
    sqs: Any,
    queue: Callable[..., str],
    token_file: Path,
    web_identity_env: Callable[[str], None],
) -> None:
    url = queue("irsa")
    sqs.send_message(QueueUrl=url, MessageBody="signed-with-the-second-set")
    sts = StsStandIn(
        sets=[
            # Five minutes: inside botocore's mandatory refresh window, so the next use
            # fetches the second set; an hour: used from then on.
            IssuedSet("ASIAFIRST0000000001", "first-secret", "session-one", timedelta(minutes=5)),
            IssuedSet("ASIASECOND000000002", "second-secret", "session-two", timedelta(hours=1)),
        ],
        # The kubelet rotates the projected token: the next call must read the file again.
        on_call=lambda: token_file.write_text("projected-token-two"),
    )
    proxy = RecordingProxy(elasticmq.endpoint + "/")

    async def scenario() -> list[str]:
        sts_runner, sts_url = await _serve(sts.handle)
        proxy_runner, proxy_url = await _serve(proxy.handle)
        web_identity_env(sts_url)
        try:
            source = await open_source(_config(url, proxy_url, {}))  # GetQueueAttributes
            try:
                records = await source.fetch(10, 1)  # ReceiveMessage
                await source.ack(records)  # DeleteMessageBatch
                await source.backlog()
            finally:
                await source.close()
        finally:
            await proxy_runner.cleanup()
            await sts_runner.cleanup()
        return [r.body.decode() for r in records]

    assert asyncio.run(scenario()) == ["signed-with-the-second-set"]

    # STS was asked twice, unsigned, with the role and the token the file held each time.
    assert [c["Action"] for c in sts.calls] == [["AssumeRoleWithWebIdentity"]] * 2
    assert [c["RoleArn"] for c in sts.calls] == [[ROLE_ARN]] * 2
    assert [c["RoleSessionName"] for c in sts.calls] == [[SESSION_NAME]] * 2
    assert [c["WebIdentityToken"] for c in sts.calls] == [
        ["projected-token-one"],
        ["projected-token-two"],
    ]
    assert all("Authorization" not in h for h in sts.headers)

    # The first SQS call went with the first set; every later one with the second.
    tokens = [h.get("x-amz-security-token") for h in proxy.seen]
    assert tokens == ["session-one"] + ["session-two"] * (len(proxy.seen) - 1)
    assert len(proxy.seen) == 4
    assert "Credential=ASIAFIRST0000000001/" in proxy.seen[0]["authorization"]
    assert all("Credential=ASIASECOND000000002/" in h["authorization"] for h in proxy.seen[1:])
    assert all("x-amz-security-token" in h["authorization"] for h in proxy.seen)
    assert (
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
        == "0"
    )


def test_a_secrets_keys_keep_priority_over_a_web_identity(
    elasticmq: Any,
    queue: Callable[..., str],
    web_identity_env: Callable[[str], None],
) -> None:
    url = queue("static")
    sts = StsStandIn(sets=[IssuedSet("ASIAUNUSED", "unused", "unused", timedelta(hours=1))])
    proxy = RecordingProxy(elasticmq.endpoint + "/")
    keys = {"accessKeyId": "AKIASTATIC0000000001", "secretAccessKey": "static-secret"}

    async def scenario() -> None:
        sts_runner, sts_url = await _serve(sts.handle)
        proxy_runner, proxy_url = await _serve(proxy.handle)
        web_identity_env(sts_url)
        try:
            source = await open_source(_config(url, proxy_url, keys))
            await source.close()
        finally:
            await proxy_runner.cleanup()
            await sts_runner.cleanup()

    asyncio.run(scenario())
    assert sts.calls == []
    assert [h.get("x-amz-security-token") for h in proxy.seen] == [None]
    assert "Credential=AKIASTATIC0000000001/" in proxy.seen[0]["authorization"]


@dataclass
class ContainerAgentStandIn:
    """Answers as the EKS Pod Identity agent does (JSON), with the next of ``sets``."""

    sets: list[IssuedSet]
    authorizations: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization", ""))
        issued = self.sets[min(len(self.authorizations), len(self.sets)) - 1]
        expiration = datetime.now(UTC) + issued.lifetime
        return web.json_response(
            {
                "AccessKeyId": issued.key_id,
                "SecretAccessKey": issued.secret,
                "Token": issued.token,
                "AccountId": "123456789012",
                "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )


def test_pod_identity_container_credentials_are_used_and_refreshed(
    elasticmq: Any,
    queue: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    web_identity_env: Callable[[str], None],
) -> None:
    for name in ("AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name)
    token_file = tmp_path / "eks-pod-identity-token"
    token_file.write_text("pod-identity-token")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(token_file))
    url = queue("pod-identity")
    agent = ContainerAgentStandIn(
        sets=[
            IssuedSet("ASIAPODFIRST0000001", "first-secret", "pod-one", timedelta(minutes=5)),
            IssuedSet("ASIAPODSECOND000002", "second-secret", "pod-two", timedelta(hours=1)),
        ]
    )
    proxy = RecordingProxy(elasticmq.endpoint + "/")

    async def scenario() -> None:
        agent_runner, agent_url = await _serve(agent.handle, method="GET")
        proxy_runner, proxy_url = await _serve(proxy.handle)
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", agent_url + "v1/credentials")
        try:
            source = await open_source(_config(url, proxy_url, {}))
            try:
                await source.backlog()
                await source.backlog()
            finally:
                await source.close()
        finally:
            await proxy_runner.cleanup()
            await agent_runner.cleanup()

    asyncio.run(scenario())
    # The agent is asked when the chain is resolved; the set it gave expires inside the
    # refresh window, so it is asked again before the first request is signed.
    assert agent.authorizations == ["pod-identity-token"] * 2
    assert [h.get("x-amz-security-token") for h in proxy.seen] == ["pod-two"] * 3
    assert all("Credential=ASIAPODSECOND000002/" in h["authorization"] for h in proxy.seen)
