"""`kappa sam convert` on real SAM templates (tests/unit/cli/sam_templates, each with its
source and licence) and on small ones for each property and event type."""

import base64
import hashlib
import io
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from kappa.cli.main import main
from kappa.cli.sam import Conversion, Package, convert, with_archives
from kappa.cli.sam_properties import Options, kappa_name
from kappa.cli.sam_yaml import TEMPLATE_MAX_BYTES, TemplateError, load_template
from kappa.controller.adoption import adoption
from kappa.resources.code_configmap import code_digest

TEMPLATES = Path(__file__).parent / "sam_templates"
ELASTICMQ = "http://10.88.0.1:9324"


def _real(name: str, **options: Any) -> Conversion:
    text = (TEMPLATES / f"{name}.yaml").read_text()
    return convert(load_template(text), Options(**options))


def _convert(text: str, **options: Any) -> Conversion:
    return convert(load_template(textwrap.dedent(text)), Options(**options))


def _kinds(conversion: Conversion) -> list[tuple[str, str]]:
    return [(m["kind"], m["metadata"]["name"]) for m in conversion.manifests]


def _lines(conversion: Conversion) -> list[str]:
    return [note.line() for note in conversion.unmapped]


def _spec(conversion: Conversion, name: str) -> dict[str, Any]:
    return next(m["spec"] for m in conversion.manifests if m["metadata"]["name"] == name)


# ------------------------------------------------------------------ real templates


def test_the_python_hello_world_becomes_a_function_packaged_from_its_folder() -> None:
    conversion = _real("python3.11-hello")
    assert _kinds(conversion) == [("Function", "hello-world-function")]
    assert _spec(conversion, "hello-world-function") == {
        "runtime": "python3.11",
        "handler": "app.lambda_handler",
        "code": {"configMap": {"name": "hello-world-function-package", "archive": "code.zip"}},
        "timeoutSeconds": 3,  # from Globals
    }
    assert conversion.packages == [
        Package("hello-world-function-package", "hello_world/", "3.11", "x86_64", layer=False)
    ]
    lines = _lines(conversion)
    assert any(
        line.startswith("HelloWorldFunction.Events.HelloWorld: Path: /hello:") for line in lines
    )
    assert any(
        "HelloWorldFunction.Events.HelloWorld: Type: Api (REST API, payload 1.0)" in line
        for line in lines
    )
    assert any(line.startswith("Outputs: HelloWorldApi") for line in lines)


def test_the_sqs_sample_maps_its_queue_to_the_sqs_endpoint_and_says_to_create_it() -> None:
    conversion = _real("nodejs20.x-sqs", sqs_endpoint=ELASTICMQ)
    assert _kinds(conversion) == [
        ("Function", "sqs-payload-logger"),
        ("EventSourceMapping", "sqs-payload-logger-sqs-queue-event"),
    ]
    function = _spec(conversion, "sqs-payload-logger")
    assert function["runtime"] == "nodejs20"
    assert function["handler"] == "src/handlers/sqs-payload-logger.sqsPayloadLoggerHandler"
    assert (function["memoryMB"], function["timeoutSeconds"]) == (128, 25)
    assert _spec(conversion, "sqs-payload-logger-sqs-queue-event") == {
        "functionRef": {"name": "sqs-payload-logger"},
        "sqs": {"queueUrl": f"{ELASTICMQ}/000000000000/SimpleQueue"},
    }
    # No CodeUri: the template's own folder, as sam build reads it.
    assert conversion.packages[0].folder == "."
    assert conversion.packages[0].python_version is None
    lines = _lines(conversion)
    assert (
        f"SimpleQueue: Type: Kappa does not create queues: create it (its URL here: {ELASTICMQ}/000000000000/SimpleQueue)"
        in lines
    )
    assert any(line.startswith("SQSPayloadLogger: Policies: IAM:") for line in lines)


def test_the_sqs_sample_without_an_endpoint_points_at_aws_sqs_of_the_region() -> None:
    conversion = _real("nodejs20.x-sqs", region="eu-west-1", account_id="123456789012")
    assert _spec(conversion, "sqs-payload-logger-sqs-queue-event")["sqs"] == {
        "queueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/SimpleQueue",
        "region": "eu-west-1",
    }


def test_the_scheduled_sample_keeps_eventbridge_syntax_as_written() -> None:
    conversion = _real("nodejs20.x-cw-event")
    assert _kinds(conversion)[1] == (
        "EventSourceMapping",
        "scheduled-event-logger-cloud-watch-event",
    )
    assert _spec(conversion, "scheduled-event-logger-cloud-watch-event") == {
        "functionRef": {"name": "scheduled-event-logger"},
        "schedule": {"cron": "cron(0 * * * ? *)"},
    }
    assert _spec(conversion, "scheduled-event-logger")["timeoutSeconds"] == 100


def test_the_web_sample_reports_the_table_it_cannot_make_and_its_references() -> None:
    conversion = _real("nodejs20.x-web")
    assert [name for kind, name in _kinds(conversion)] == [
        "get-all-items-function", "get-by-id-function", "put-item-function",
    ]  # fmt: skip
    assert all("env" not in m["spec"] for m in conversion.manifests)
    lines = _lines(conversion)
    assert (
        "getAllItemsFunction: Environment.Variables.SAMPLE_TABLE: !Ref SampleTable: Kappa "
        "does not create its AWS::Serverless::SimpleTable: left out"
    ) in lines
    assert (
        "SampleTable: Type: AWS::Serverless::SimpleTable: Kappa makes Functions and Layers only: left out"
        in lines
    )
    assert any(line.startswith("getByIdFunction.Events.Api: Path: /{id}:") for line in lines)


# ------------------------------------------------------------------ properties

FUNCTION = """\
Parameters:
  Stage: {Type: String, Default: dev}
  Size: {Type: Number, Default: 512}
  NoDefault: {Type: String}
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
    Environment: {Variables: {SHARED: one, LEVEL: info}}
    Layers: [!Ref Shared]
Resources:
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties:
      LayerName: shared-helpers
      ContentUri: layers/shared
      Description: helpers
      CompatibleRuntimes: [python3.12]
      RetentionPolicy: Retain
    Metadata: {BuildMethod: python3.12}
  Orders:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "orders-${Stage}"
      CodeUri: src/
      Handler: app.handler
      MemorySize: !Ref Size
      Timeout: 30
      ReservedConcurrentExecutions: 10
      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 2}
      EphemeralStorage: {Size: 1024}
      Layers:
        - arn:aws:lambda:us-east-1:123456789012:layer:other:3
      Environment:
        Variables:
          LEVEL: debug
          STAGE: !Ref Stage
          REGION: !Sub "${AWS::Region}-x"
          MISSING: !Ref NoDefault
          FLAG: true
      EventInvokeConfig: {MaximumRetryAttempts: 1, MaximumEventAgeInSeconds: 600}
      LoggingConfig: {LogFormat: JSON, ApplicationLogLevel: DEBUG, LogGroup: mine}
      FunctionUrlConfig: {AuthType: NONE, Cors: {AllowOrigins: ["*"]}}
      Tracing: Active
      Architectures: [arm64]
"""


def test_function_properties_globals_and_parameters_map_as_sam_applies_them() -> None:
    conversion = _convert(FUNCTION, parameters={"Stage": "prod"})
    assert _kinds(conversion) == [("Layer", "shared-helpers"), ("Function", "orders-prod")]
    assert _spec(conversion, "orders-prod") == {
        "runtime": "python3.12",
        "handler": "app.handler",
        "code": {"configMap": {"name": "orders-prod-package", "archive": "code.zip"}},
        "memoryMB": 512,
        "timeoutSeconds": 30,  # the function's own wins over Globals
        "ephemeralStorageMB": 1024,
        "env": [
            {"name": "SHARED", "value": "one"},
            {"name": "LEVEL", "value": "debug"},
            {"name": "STAGE", "value": "prod"},  # the override, not the Default
            {"name": "REGION", "value": "us-east-1-x"},
            {"name": "FLAG", "value": "true"},
        ],
        "concurrency": {"reserved": 10, "provisioned": 2},
        "layers": [{"name": "shared-helpers"}],  # Globals' first; the ARN is reported
        "async": {"maximumRetryAttempts": 1, "maximumEventAgeSeconds": 600},
        "loggingConfig": {"logFormat": "JSON", "applicationLogLevel": "DEBUG"},
        "url": {"authType": "NONE"},
    }
    assert _spec(conversion, "shared-helpers") == {
        "code": {"configMap": {"name": "shared-helpers-layer", "archive": "code.zip"}},
        "description": "helpers",
    }
    assert conversion.packages == [
        Package("shared-helpers-layer", "layers/shared", "3.12", "x86_64", layer=True),
        Package("orders-prod-package", "src/", "3.12", "arm64", layer=False),
    ]
    lines = _lines(conversion)
    assert (
        "Orders: Environment.Variables.MISSING: !Ref NoDefault: no parameter or resource of that name: left out"
        in lines
    )
    assert any(
        line.startswith(
            "Orders: Layers: arn:aws:lambda:us-east-1:123456789012:layer:other:3 is no LayerVersion"
        )
        for line in lines
    )
    assert "Orders: LoggingConfig.LogGroup: logs go to the pods' output: left out" in lines
    assert "Orders: FunctionUrlConfig.Cors: the HTTP trigger has no such setting" in lines
    assert "Orders: Tracing: no X-Ray tracing: left out" in lines
    assert any(line.startswith("Shared: RetentionPolicy:") for line in lines)


@pytest.mark.parametrize(
    ("properties", "runtime", "note"),
    [
        pytest.param(
            "Runtime: python3.9",
            "python3.11",
            "Runtime: python3.9 is not a Kappa runtime: runs on python3.11",
            id="older-python",
        ),
        pytest.param(
            "Runtime: nodejs18.x",
            "nodejs20",
            "Runtime: nodejs18.x is not a Kappa runtime: runs on nodejs20",
            id="older-node",
        ),
        pytest.param("Runtime: provided.al2023", "provided", None, id="provided"),
        pytest.param(
            "Runtime: java21",
            None,
            "Runtime: java21 is not a Kappa runtime: the function is left out",
            id="java",
        ),
        pytest.param(
            "{Runtime: python3.11, CodeUri: 's3://bucket/code.zip'}",
            None,
            "CodeUri: s3://bucket/code.zip: code in S3 cannot be read here",
            id="s3-code",
        ),
        pytest.param(
            "{Runtime: python3.11, MemorySize: 64}",
            None,
            "Function: the Function fn would be refused (spec.memoryMB:",
            id="refused-by-the-api",
        ),
    ],
)
def test_runtimes_and_refusals(properties: str, runtime: str | None, note: str | None) -> None:
    conversion = _convert(
        f"Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {properties}\n"
        if properties.startswith("{")
        else f"Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Handler: bootstrap.main\n      {properties}\n"
    )
    made = [m["spec"]["runtime"] for m in conversion.manifests]
    assert made == ([runtime] if runtime else [])
    if note is not None:
        assert any(line.startswith(f"Fn: {note}") for line in _lines(conversion)), _lines(
            conversion
        )


def test_inline_code_and_image_functions() -> None:
    conversion = _convert("""\
        Resources:
          Inline:
            Type: AWS::Serverless::Function
            Properties: {Runtime: nodejs22.x, Handler: index.handler, InlineCode: "exports.handler = async () => 1;"}
          Img:
            Type: AWS::Serverless::Function
            Properties: {PackageType: Image, ImageUri: registry.example/fn:1}
    """)
    assert _spec(conversion, "inline")["code"] == {
        "inline": {"index.js": "exports.handler = async () => 1;"}
    }
    assert _spec(conversion, "img") == {
        "runtime": "image",
        "code": {"image": "registry.example/fn:1"},
    }
    assert conversion.packages == []


# ------------------------------------------------------------------ events

EVENTS = """\
Parameters:
  BrokerUrl: {Type: String, Default: "amqp://rabbit.example:5672/orders"}
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: app.handler
      Events:
        Direct:
          Type: SQS
          Properties:
            Queue: arn:aws:sqs:eu-west-1:123456789012:direct
            BatchSize: 5
            MaximumBatchingWindowInSeconds: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
            FilterCriteria: {Filters: [{Pattern: '{"body": {"kind": ["order"]}}'}]}
            ScalingConfig: {MaximumConcurrency: 5}
        Nightly:
          Type: Schedule
          Properties: {Schedule: "cron(0 3 * * ? *)", Input: '{"job": "nightly"}', Enabled: false, Name: nightly-rule}
        Paris:
          Type: ScheduleV2
          Properties: {ScheduleExpression: "rate(5 minutes)", ScheduleExpressionTimezone: Europe/Paris}
        Stream:
          Type: SelfManagedKafka
          Properties:
            KafkaBootstrapServers: ["kafka-0:9092", "kafka-1:9092"]
            Topics: [a, b]
            ConsumerGroupId: workers
            StartingPosition: TRIM_HORIZON
            SourceAccessConfigurations: [{Type: BASIC_AUTH, URI: arn:aws:secretsmanager:x}]
        Managed:
          Type: MSK
          Properties: {Stream: arn:aws:kafka:us-east-1:1:cluster/x, Topics: [t], StartingPosition: LATEST}
        Rabbit:
          Type: MQ
          Properties: {Broker: !Ref BrokerUrl, Queues: [jobs]}
        AmazonMq:
          Type: MQ
          Properties: {Broker: arn:aws:mq:us-east-1:1:broker:b, Queues: [jobs]}
        Upload:
          Type: S3
          Properties: {Bucket: !Ref Bucket, Events: s3:ObjectCreated:*}
        Web:
          Type: HttpApi
"""


def test_events_become_mappings_where_a_kappa_source_reads_them() -> None:
    conversion = _convert(EVENTS)
    mappings = {
        m["metadata"]["name"]: m["spec"]
        for m in conversion.manifests
        if m["kind"] == "EventSourceMapping"
    }
    ref = {"functionRef": {"name": "worker"}}
    assert mappings == {
        "worker-direct": {
            **ref,
            "sqs": {
                "queueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/direct",
                "region": "eu-west-1",
            },
            "batchSize": 5,
            "maximumBatchingWindowSeconds": 2,
            "functionResponseTypes": ["ReportBatchItemFailures"],
            "filterCriteria": {"filters": [{"pattern": '{"body": {"kind": ["order"]}}'}]},
        },
        "worker-nightly": {
            **ref,
            "schedule": {"cron": "cron(0 3 * * ? *)", "payload": '{"job": "nightly"}'},
            "enabled": False,
        },
        "worker-paris": {
            **ref,
            "schedule": {"cron": "rate(5 minutes)", "timeZone": "Europe/Paris"},
        },
        "worker-stream-1": {
            **ref,
            "kafka": {
                "bootstrapServers": ["kafka-0:9092", "kafka-1:9092"],
                "consumerGroupId": "workers",
                "topic": "a",
            },
            "startingPosition": "TRIM_HORIZON",
        },
        "worker-stream-2": {
            **ref,
            "kafka": {
                "bootstrapServers": ["kafka-0:9092", "kafka-1:9092"],
                "consumerGroupId": "workers",
                "topic": "b",
            },
            "startingPosition": "TRIM_HORIZON",
        },
        "worker-rabbit": {
            **ref,
            "rabbitmq": {
                "url": "amqp://rabbit.example:5672/",
                "virtualHost": "orders",
                "queue": "jobs",
            },
        },
    }
    lines = _lines(conversion)
    for expected in (
        "Worker.Events.Direct: ScalingConfig: pollers are sized by parallelizationFactor; left out",
        "Worker.Events.Nightly: Name: names the AWS rule; the mapping is named after the function and the event",
        "Worker.Events.Stream: SourceAccessConfigurations: credentials in AWS Secrets Manager",
        "Worker.Events.Managed: Stream: an MSK cluster ARN names no brokers",
        "Worker.Events.AmazonMq: Broker: 'arn:aws:mq:us-east-1:1:broker:b' is no amqp:// URL",
        "Worker.Events.Upload: Type: event type S3 has no Kappa source",
    ):
        assert any(line.startswith(expected) for line in lines), (expected, lines)
    assert not any(line.startswith("Worker.Events.Web") for line in lines)


def test_a_queue_reference_that_names_no_queue_is_reported_and_left_out() -> None:
    conversion = _convert("""\
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Runtime: python3.11
              Handler: app.handler
              Events:
                Q: {Type: SQS, Properties: {Queue: !ImportValue shared-queue-arn}}
    """)
    assert _kinds(conversion) == [("Function", "fn")]
    assert any(
        line.startswith("Fn.Events.Q: Queue: !ImportValue shared-queue-arn is no SQS queue ARN")
        for line in _lines(conversion)
    )


def test_a_parameter_the_template_does_not_declare_is_reported() -> None:
    conversion = _convert("Resources: {}\n", parameters={"Nope": "1"})
    assert _lines(conversion) == ["Parameters: Nope: the template declares no such parameter"]


# ------------------------------------------------------------------ intrinsics, names, YAML


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("!Join ['-', [a, !Ref Stage]]", "a-dev", id="join"),
        pytest.param("!Select [1, !Split [',', 'x,y,z']]", "y", id="select-split"),
        pytest.param(
            "!Sub ['${Name}-${AWS::AccountId}', {Name: n}]", "n-000000000000", id="sub-variables"
        ),
        pytest.param("!Sub 'literal ${!NotAVariable}'", "literal ${NotAVariable}", id="sub-escape"),
        pytest.param("!FindInMap [Sizes, !Ref Stage, memory]", "256", id="find-in-map"),
        pytest.param("!GetAtt Jobs.QueueName", "jobs-queue", id="queue-name"),
        pytest.param(
            "!GetAtt Jobs.Arn", "arn:aws:sqs:us-east-1:000000000000:jobs-queue", id="queue-arn"
        ),
        pytest.param(
            "!Ref Jobs",
            "https://sqs.us-east-1.amazonaws.com/000000000000/jobs-queue",
            id="queue-url",
        ),
        pytest.param("!Ref Fn", "fn", id="a-function-is-its-name"),
    ],
)
def test_intrinsics_that_a_template_alone_resolves(value: str, expected: str) -> None:
    conversion = _convert(f"""\
        Parameters: {{Stage: {{Type: String, Default: dev}}}}
        Mappings: {{Sizes: {{dev: {{memory: "256"}}}}}}
        Resources:
          Jobs: {{Type: AWS::SQS::Queue, Properties: {{QueueName: jobs-queue}}}}
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Runtime: python3.11
              Handler: app.handler
              Environment: {{Variables: {{V: {value}}}}}
    """)
    assert _spec(conversion, "fn")["env"] == [{"name": "V", "value": expected}]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        pytest.param(
            "!GetAtt Fn.Arn",
            "!GetAtt Fn.Arn: an attribute of a AWS::Serverless::Function",
            id="get-att",
        ),
        pytest.param(
            "!If [IsProd, a, b]",
            "!If ['IsProd', 'a', 'b'] has no value outside CloudFormation",
            id="if",
        ),
        pytest.param(
            "!Sub '${Fn.Arn}'", "!Sub ${Fn.Arn}: an attribute of a resource", id="sub-attribute"
        ),
        pytest.param(
            "!Ref AWS::NotificationARNs",
            "!Ref AWS::NotificationARNs: no value for this pseudo parameter here",
            id="pseudo",
        ),
    ],
)
def test_intrinsics_that_cannot_be_resolved_are_reported(value: str, why: str) -> None:
    conversion = _convert(f"""\
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties: {{Runtime: python3.11, Handler: app.handler, Environment: {{Variables: {{V: {value}}}}}}}
    """)
    assert "env" not in _spec(conversion, "fn")
    assert f"Fn: Environment.Variables.V: {why}: left out" in _lines(conversion)


@pytest.mark.parametrize(
    ("logical", "name"),
    [("HelloWorldFunction", "hello-world-function"), ("getAllItemsFunction", "get-all-items-function"),
     ("SQSPayloadLogger", "sqs-payload-logger"), ("my_func.v2", "my-func-v2"), ("---", "unnamed")],
)  # fmt: skip
def test_names_become_dns_labels(logical: str, name: str) -> None:
    assert kappa_name(logical) == name


def test_a_long_name_is_cut_to_a_label() -> None:
    assert kappa_name("A" * 40 + "Function" * 10) == ("a" * 40 + "-function" * 3)[:63].rstrip("-")


def test_the_yaml_loader_reads_short_forms_as_cloudformation_long_forms() -> None:
    template = load_template(
        "Resources:\n  X: {A: !Ref P, B: !GetAtt Q.Arn, C: !Sub 'x', D: !Join [',', []]}\n"
    )
    assert template["Resources"]["X"] == {
        "A": {"Ref": "P"}, "B": {"Fn::GetAtt": ["Q", "Arn"]}, "C": {"Fn::Sub": "x"}, "D": {"Fn::Join": [",", []]},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("a: [", "not YAML", id="not-yaml"),
        pytest.param("Description: x\n", "it has no Resources mapping", id="no-resources"),
        pytest.param(
            "#" * (TEMPLATE_MAX_BYTES + 1), f"over {TEMPLATE_MAX_BYTES:,} bytes", id="too-large"
        ),
    ],
)
def test_what_is_no_template_is_refused(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        load_template(text)


# ------------------------------------------------------------------ archives and the command


def test_each_package_goes_in_a_configmap_before_the_object_marked_with_its_sha() -> None:
    conversion = _convert(FUNCTION, namespace="team-a")
    documents = with_archives(
        conversion, {"orders-dev-package": b"zip-a", "shared-helpers-layer": b"zip-b"}
    )
    assert [(d["kind"], d["metadata"]["name"]) for d in documents] == [
        ("ConfigMap", "shared-helpers-layer"), ("Layer", "shared-helpers"),
        ("ConfigMap", "orders-dev-package"), ("Function", "orders-dev"),
    ]  # fmt: skip
    configmap, function = documents[2], documents[3]
    assert base64.b64decode(configmap["binaryData"]["code.zip"]) == b"zip-a"
    assert configmap["metadata"]["namespace"] == "team-a"
    assert configmap["metadata"]["labels"] == {
        "kappa.dev/function": "orders-dev",
        "kappa.dev/component": "package",
    }
    assert documents[0]["metadata"]["labels"] == {
        "kappa.dev/layer": "shared-helpers",
        "kappa.dev/component": "layer",
    }
    sha = hashlib.sha256(b"zip-a").hexdigest()
    assert function["metadata"]["annotations"] == {"kappa.dev/code-sha256": sha}
    # No uid is known here: the operator adopts the package it is labelled as, once applied.
    assert "ownerReferences" not in configmap["metadata"]
    reference = adoption("orders-dev", "uid-9", code_digest(configmap))
    assert reference == {
        "apiVersion": "kappa.dev/v1alpha1", "kind": "Function", "name": "orders-dev",
        "uid": "uid-9",
    }  # fmt: skip


def test_the_command_packages_the_folder_and_prints_what_it_could_not_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "hello_world").mkdir()
    (tmp_path / "hello_world/app.py").write_text(
        "def lambda_handler(event, context):\n    return 1\n"
    )
    (tmp_path / "template.yaml").write_text((TEMPLATES / "python3.11-hello.yaml").read_text())
    assert main(["sam", "convert", str(tmp_path / "template.yaml"), "-n", "team-a"]) == 0
    out, err = capsys.readouterr()
    configmap, function = yaml.safe_load_all(out)
    assert function["metadata"] == {
        "name": "hello-world-function",
        "namespace": "team-a",
        "annotations": {
            "kappa.dev/code-sha256": configmap["metadata"]["annotations"]["kappa.dev/code-sha256"]
        },
    }
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(configmap["binaryData"]["code.zip"])))
    assert archive.namelist() == ["app.py"]
    assert "not mapped: HelloWorldFunction.Events.HelloWorld: Path: /hello:" in err


def test_the_command_refuses_a_file_that_is_no_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.yaml").write_text("just: text\n")
    assert main(["sam", "convert", str(tmp_path / "t.yaml")]) == 2
    assert "not a SAM template: it has no Resources mapping" in capsys.readouterr().err
