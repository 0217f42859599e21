"""The java17 runtime under the real agent: events in, results and Lambda's errors out.

The handlers of handlers/ are compiled as a function's build would and run by AWS's
Java runtime interface client with the image's bootstrap, jars and JVM (Debian's
OpenJDK 17), as the runtime-java17 image runs them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import (
    FUNCTION_ARN,
    SOURCE_ROOT,
    Reply,
    StartAgent,
    serving,
)
from tests.integration.java.harness import (
    RUNTIME_DIR,
    JavaRuntime,
    debian_java_home,
    jar,
    javac,
)

# The first test of a session may wait for the runtime's install and the handlers'
# compilation (fixtures); the time limit is on the test itself.
pytestmark = pytest.mark.timeout(90, func_only=True)

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def result_of(reply: Reply) -> object:
    assert reply.status == 200, reply.body
    assert reply.function_error is None, reply.body
    return reply.json()


def function_error_of(reply: Reply) -> dict[str, object]:
    assert reply.status == 200
    assert reply.function_error == "Unhandled", reply.body
    error = reply.json()
    assert isinstance(error, dict)
    return error


def test_request_handler_gets_the_event_and_lambdas_context(
    start_agent: StartAgent, task_root: Path
) -> None:
    agent = start_agent("example.Hello")
    reply = agent.invoke({"name": "Duke"}, headers={"X-Kappa-Request-Id": "req-1"})
    result = result_of(reply)
    assert isinstance(result, dict)
    # The class from lib/greeting.jar: the client loads the task root's lib/*.jar.
    assert result["message"] == "Hello, Duke!"
    assert result["event"] == {"name": "Duke"}
    assert result["java"] == "17"
    assert result["requestId"] == "req-1"
    assert result["functionName"] == "demo"
    assert result["functionVersion"] == "$LATEST"
    assert result["invokedFunctionArn"] == FUNCTION_ARN
    assert result["memoryLimitInMB"] == 256
    assert result["logGroupName"] == "/aws/lambda/demo"
    assert result["logStreamName"] == "demo-pod"
    assert 0 < result["remainingTimeInMillis"] <= 3000
    assert result["cwd"] == str(task_root)
    assert result["handlerEnv"] == "example.Hello"
    assert result["kappaEnv"] == []  # the agent's own settings stay with the agent
    # Lambda's java17 flags: heap at 85% of the memory, serial GC, C1 only.
    arguments = result["jvmArguments"]
    assert isinstance(arguments, list)
    assert f"-XX:MaxHeapSize={256 * 1024 * 85 // 100}k" in arguments
    assert "-XX:+UseSerialGC" in arguments
    assert "-XX:TieredStopAtLevel=1" in arguments
    # What the handler logged, in the function's log between START and END.
    output = agent.output_through(reply)
    assert re.search(r"START RequestId: req-1 Version: \$LATEST\n.*hello from demo", output)
    assert "END RequestId: req-1" in output


def test_a_generated_request_id_and_a_second_call_on_the_same_jvm(
    start_agent: StartAgent,
) -> None:
    agent = start_agent("example.Hello::handleRequest")
    first = result_of(agent.invoke({"name": "a"}))
    last = agent.invoke({})
    second = result_of(last)
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    assert UUID4.fullmatch(str(first["requestId"]))
    assert second["requestId"] != first["requestId"]
    assert second["message"] == "Hello, world!"
    assert agent.output_through(last).count("Init Duration") == 1  # one cold start, then warm


def test_a_plain_method_takes_and_returns_json_values(start_agent: StartAgent) -> None:
    agent = start_agent("example.Failing::upper")
    assert result_of(agent.invoke("kappa")) == "KAPPA"


def test_a_stream_handler_gets_the_raw_bytes(start_agent: StartAgent) -> None:
    agent = start_agent("example.Streams")
    assert result_of(agent.invoke(raw=b'"abc"')) == "cba"
    assert agent.invoke(raw=b"[1,2]").body == b"]2,1["


def test_an_exception_is_lambdas_error_shape(start_agent: StartAgent) -> None:
    agent = start_agent("example.Failing::fail")
    error = function_error_of(agent.invoke({"name": "x"}))
    assert error["errorType"] == "java.lang.IllegalArgumentException"
    assert error["errorMessage"] == "no name in [name]"
    trace = error["stackTrace"]
    assert isinstance(trace, list)
    assert trace[0].startswith("example.Failing.fail(Failing.java:")
    assert all(isinstance(frame, str) for frame in trace)
    # The JVM lives on: the next call is answered by the same runtime.
    last = agent.invoke({})
    assert function_error_of(last)["errorMessage"] == "no name in []"
    assert agent.output_through(last).count("Init Duration") == 1


def test_the_functions_own_exception_class_is_the_error_type(start_agent: StartAgent) -> None:
    agent = start_agent("example.Failing::failWithCause")
    error = function_error_of(agent.invoke({}))
    assert error["errorType"] == "example.Failing$NameMissing"
    assert error["errorMessage"] == "the name is missing"
    trace = error["stackTrace"]
    assert isinstance(trace, list)
    assert trace[0].startswith("example.Failing.failWithCause(Failing.java:")


def test_a_missing_class_is_the_invocations_error_as_in_lambda(start_agent: StartAgent) -> None:
    # Lambda's Java runtime starts without loading the handler class; the call says why.
    agent = start_agent("example.Nope")
    error = function_error_of(agent.invoke({}))
    assert error == {
        "errorType": "java.lang.ClassNotFoundException",
        "errorMessage": "Class not found: example.Nope",
    }


def test_a_class_that_fails_to_initialise_is_an_init_error(start_agent: StartAgent) -> None:
    agent = start_agent("example.InitFails", wait_ready=False)
    assert agent.exit_status(timeout=60) == 1
    assert "kappa-agent: ready" not in agent.output()
    message = agent.termination_message()
    assert message["errorType"] == "Runtime.BadFunctionCode"
    assert message["errorMessage"].startswith("Error loading class example.InitFails")
    assert "static initialiser failed" in agent.output()


def test_128_mb_is_enough_to_start_and_answer(start_agent: StartAgent) -> None:
    agent = start_agent("example.Hello", env={"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"})
    reply = agent.invoke({"name": "small"})
    result = result_of(reply)
    assert isinstance(result, dict)
    assert result["memoryLimitInMB"] == 128
    assert f"-XX:MaxHeapSize={128 * 1024 * 85 // 100}k" in result["jvmArguments"]
    output = agent.output_through(reply)
    used = re.search(r"Memory Size: 128 MB\tMax Memory Used: (\d+) MB", output)
    assert used, output
    assert int(used.group(1)) < 128


def test_a_jar_is_code_as_lambda_takes_it(
    start_agent: StartAgent, task_root: Path, tmp_path: Path
) -> None:
    # One jar of the compiled classes and lib/, served as the code archive (a jar is a
    # zip): the agent unpacks it into an empty task root, as Lambda does.
    served = tmp_path / "served"
    archive = jar(task_root, served / "hello.jar")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    empty = tmp_path / "empty-task"
    with serving(served) as base:
        agent = start_agent(
            "example.Hello",
            env={"LAMBDA_TASK_ROOT": str(empty)},
            code_url=f"{base}/hello.jar",
            code_sha256=digest,
        )
        result = result_of(agent.invoke({"name": "jar"}))
    assert isinstance(result, dict)
    assert result["message"] == "Hello, jar!"
    assert result["cwd"] == str(empty)
    assert (empty / "example/Hello.class").is_file()
    assert (empty / "lib/greeting.jar").is_file()


def test_java_tool_options_replace_the_runtimes_defaults(start_agent: StartAgent) -> None:
    options = "-XX:TieredStopAtLevel=4 -Xmx64m -XX:+UseParallelGC"
    agent = start_agent("example.Hello", env={"JAVA_TOOL_OPTIONS": options})
    result = result_of(agent.invoke({}))
    assert isinstance(result, dict)
    arguments = result["jvmArguments"]
    assert isinstance(arguments, list)
    assert not [a for a in arguments if "MaxHeapSize" in a or "TieredStopAtLevel=1" in a]
    assert "-XX:+UseSerialGC" not in arguments
    assert 32 * 2**20 < result["maxHeapBytes"] <= 64 * 2**20
    # The runtime's own flags stay.
    assert "-XX:+ErrorFileToStderr" in arguments


def test_the_images_class_data_sharing_archive_is_made_and_used(
    start_agent: StartAgent, java_runtime: JavaRuntime, tmp_path: Path
) -> None:
    # As the image's build does: the trainer compiled, a training run of the agent and
    # the runtime writing lib/runtime.jsa (into a copy of the runtime, beside its java).
    runtime = tmp_path / "rt/runtime"
    shutil.copytree(java_runtime.bootstrap.parent, runtime)
    (tmp_path / "rt/lang").symlink_to(debian_java_home())
    trainer = tmp_path / "trainer"
    core = next(java_runtime.lib.glob("aws-lambda-java-core-*.jar"))
    subprocess.run(
        [javac(), "--release", "17", "-cp", str(core), "-d", str(trainer),
         str(RUNTIME_DIR / "trainer/kappa/Trainer.java")],
        check=True, timeout=120,
    )  # fmt: skip
    subprocess.run(
        [sys.executable, str(RUNTIME_DIR / "train_cds.py"), str(runtime), str(trainer)],
        env={**os.environ, "PYTHONPATH": str(SOURCE_ROOT)},
        check=True, timeout=120,
    )  # fmt: skip
    assert (runtime / "lib/runtime.jsa").is_file()
    # A function's JVM maps the runtime's classes from it (the archive's "top" layer).
    loaded = tmp_path / "class-load.log"
    agent = start_agent(
        "example.Hello",
        env={
            "KAPPA_BOOTSTRAP": str(runtime / "bootstrap"),
            "JAVA_TOOL_OPTIONS": f"-Xlog:class+load=info:file={loaded}",
        },
    )
    result = result_of(agent.invoke({"name": "cds"}))
    assert isinstance(result, dict)
    assert f"-XX:SharedArchiveFile={runtime}/lib/runtime.jsa" in result["jvmArguments"]
    client = "com.amazonaws.services.lambda.runtime.api.client.AWSLambda "
    lines = [line for line in loaded.read_text().splitlines() if client in line]
    assert lines
    assert "source: shared objects file (top)" in lines[0]


def test_an_exec_wrapper_gets_the_java_command(start_agent: StartAgent, tmp_path: Path) -> None:
    # As Lambda's AWS_LAMBDA_EXEC_WRAPPER: the wrapper is run with java and its arguments.
    wrapper = tmp_path / "wrapper"
    wrapper.write_text('#!/bin/sh\njava=$1\nshift\nexec "$java" -Dwrapped=yes "$@"\n')
    wrapper.chmod(0o755)
    agent = start_agent("example.Hello", env={"AWS_LAMBDA_EXEC_WRAPPER": str(wrapper)})
    result = result_of(agent.invoke({}))
    assert isinstance(result, dict)
    assert result["jvmArguments"][0] == "-Dwrapped=yes"


def test_json_log_format_makes_the_handlers_lines_json(start_agent: StartAgent) -> None:
    # spec.loggingConfig.logFormat JSON reaches the runtime as AWS_LAMBDA_LOG_FORMAT.
    agent = start_agent(
        "example.Hello",
        env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"},
    )
    result_of(agent.invoke({}, headers={"X-Kappa-Request-Id": "req-json"}))
    agent.wait_for('"type":"platform.report"')  # the lines are read by a thread
    lines = agent.output().splitlines()
    records = [json.loads(line) for line in lines if "hello from demo" in line]
    assert len(records) == 1, agent.output()
    assert records[0]["message"] == "hello from demo"
    assert records[0]["AWSRequestId"] == "req-json"
