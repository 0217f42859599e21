"""Private brokers for integration tests and benchmarks, each on free loopback ports in a directory.

- Kafka: one combined broker/controller in KRaft mode, run by the machine's
  Java from the Maven Central jars e2e/local/fetch-brokers.sh caches.
- RabbitMQ: Debian's rabbitmq-server as a node of its own (node name, data
  dir, Erlang cookie, epmd port and AMQP port all private; no plugins).
- NATS: Debian's nats-server with JetStream (``restart`` keeps its store and
  port; tests/integration/nats_harness.py holds its pytest fixture).
- Redis: Debian's redis-server without persistence.

Each ``start_*`` returns a running broker, ready for clients; ``stop()`` ends
it and the processes it started. Nothing here touches the Debian services
(which, where apt started them, keep their default ports).
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FETCH_BROKERS = REPO / "e2e" / "local" / "fetch-brokers.sh"
START_TIMEOUT = 90.0


class BrokerStartError(RuntimeError):
    """A broker did not become ready; the message ends with its log's tail."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _log_tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def _wait_for_log(
    process: subprocess.Popen[bytes], log: Path, pattern: str, what: str, *, since: int = 0
) -> None:
    """Wait for ``pattern`` in ``log`` past its first ``since`` characters."""
    deadline = time.monotonic() + START_TIMEOUT
    regex = re.compile(pattern)
    while time.monotonic() < deadline:
        if log.exists() and regex.search(log.read_text(errors="replace")[since:]):
            return
        if process.poll() is not None:
            msg = f"{what} exited with {process.returncode} before it was ready:\n{_log_tail(log)}"
            raise BrokerStartError(msg)
        time.sleep(0.05)
    msg = (
        f"{what} not ready after {START_TIMEOUT:.0f} s (waited for {pattern!r}):\n{_log_tail(log)}"
    )
    raise BrokerStartError(msg)


def _stop(process: subprocess.Popen[bytes], *, timeout: float = 20) -> None:
    """SIGTERM the process group the broker leads, SIGKILL it if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _spawn(
    argv: list[str], log: Path, *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,  # its own process group: stop() ends its children too
        )


@dataclass
class Broker:
    """A running broker: its processes, directory and log."""

    name: str
    directory: Path
    log: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        """End the broker (then the helpers it needed, e.g. epmd)."""
        for process in self.processes:
            _stop(process)

    def log_tail(self) -> str:
        """The last lines of the broker's log, for failure messages."""
        return _log_tail(self.log)


# ------------------------------------------------------------------- Kafka

_KAFKA_JVM = (
    "-Xms256m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Djava.awt.headless=true",
)


@dataclass
class KafkaBroker(Broker):
    """A single-node KRaft cluster; ``sasl_port`` takes SASL/PLAIN as ``SASL_USER``."""

    port: int = 0
    sasl_port: int = 0

    @property
    def bootstrap_servers(self) -> str:
        """host:port clients bootstrap from."""
        return f"127.0.0.1:{self.port}"

    @property
    def sasl_bootstrap_servers(self) -> str:
        """host:port of the SASL_PLAINTEXT listener."""
        return f"127.0.0.1:{self.sasl_port}"


SASL_USER = ("kappa", "kappa-secret")


def kafka_libs() -> Path:
    """The Kafka jars (fetched from Maven Central on a machine's first use, then cached)."""
    out = subprocess.run([str(FETCH_BROKERS)], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def start_kafka(directory: Path) -> KafkaBroker:
    """Format a KRaft storage dir and start one combined broker/controller on free ports."""
    java = shutil.which("java")
    if java is None:
        msg = "java is not on PATH: run e2e/local/deps.sh (Debian's openjdk-17-jre-headless)"
        raise BrokerStartError(msg)
    directory.mkdir(parents=True, exist_ok=True)
    classpath = f"{kafka_libs()}/*"
    port, controller_port, sasl_port = free_port(), free_port(), free_port()
    data = directory / "data"
    properties = directory / "server.properties"
    properties.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
                (
                    f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port},"
                    f"SASL://127.0.0.1:{sasl_port}"
                ),
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{port},SASL://127.0.0.1:{sasl_port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                (
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,"
                    "SASL:SASL_PLAINTEXT"
                ),
                "listener.name.sasl.sasl.enabled.mechanisms=PLAIN",
                (
                    "listener.name.sasl.plain.sasl.jaas.config="
                    "org.apache.kafka.common.security.plain.PlainLoginModule required "
                    f'user_{SASL_USER[0]}="{SASL_USER[1]}";'
                ),
                f"log.dirs={data}",
                "num.partitions=1",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "",
            ]
        )
    )
    log4j = directory / "log4j2.yaml"
    log4j.write_text(
        "Configuration:\n"
        "  Appenders:\n"
        "    Console: {name: STDOUT, PatternLayout: {pattern: '[%d] %p %m (%c)%n'}}\n"
        "  Loggers:\n"
        "    Root: {level: INFO, AppenderRef: [{ref: STDOUT}]}\n"
    )
    jvm = [java, *_KAFKA_JVM, f"-Dlog4j2.configurationFile={log4j}", "-cp", classpath]
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    log = directory / "kafka.log"
    formatted = subprocess.run(
        [*jvm, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(properties)],
        check=False,
        capture_output=True,
        text=True,
    )
    if formatted.returncode != 0:
        msg = f"kafka-storage format failed:\n{formatted.stdout[-3000:]}{formatted.stderr[-3000:]}"
        raise BrokerStartError(msg)
    broker = KafkaBroker(name="kafka", directory=directory, log=log, port=port, sasl_port=sasl_port)
    process = _spawn([*jvm, "kafka.Kafka", str(properties)], log, cwd=directory)
    broker.processes.append(process)
    try:
        _wait_for_log(process, log, r"Kafka Server started", "kafka")
    except BaseException:
        broker.stop()
        raise
    return broker


# ---------------------------------------------------------------- RabbitMQ

_RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")


@dataclass
class RabbitMqBroker(Broker):
    """A RabbitMQ node of its own; the default user guest/guest may connect over loopback."""

    port: int = 0

    @property
    def url(self) -> str:
        """amqp:// URL without credentials."""
        return f"amqp://127.0.0.1:{self.port}/"


def start_rabbitmq(directory: Path) -> RabbitMqBroker:
    """Start a private RabbitMQ node (no systemd, no shared epmd, no plugins)."""
    epmd = shutil.which("epmd")
    if not _RABBITMQ_SERVER.exists() or epmd is None:
        msg = "rabbitmq-server is not installed: run e2e/local/deps.sh (Debian's rabbitmq-server)"
        raise BrokerStartError(msg)
    directory.mkdir(parents=True, exist_ok=True)
    port, dist_port, epmd_port = free_port(), free_port(), free_port()
    (directory / "rabbitmq.conf").write_text(
        f"listeners.tcp.default = 127.0.0.1:{port}\n"
        "loopback_users = none\n"
        "log.console = true\n"
        "log.file = false\n"
    )
    (directory / "enabled_plugins").write_text("[].\n")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin:/usr/sbin:/sbin"),
        "HOME": str(directory),  # the Erlang cookie is made here, private to this node
        "LANG": "C.UTF-8",
        "ERL_EPMD_PORT": str(epmd_port),
        "RABBITMQ_NODENAME": f"kappa-test-{port}@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist_port),
        "RABBITMQ_MNESIA_BASE": str(directory / "mnesia"),
        "RABBITMQ_LOG_BASE": str(directory / "log"),
        "RABBITMQ_LOGS": "-",
        "RABBITMQ_CONFIG_FILE": str(directory / "rabbitmq"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(directory / "enabled_plugins"),
        "RABBITMQ_PLUGINS_EXPAND_DIR": str(directory / "plugins-expand"),
        "RABBITMQ_PID_FILE": str(directory / "rabbitmq.pid"),
    }
    log = directory / "rabbitmq.log"
    broker = RabbitMqBroker(name="rabbitmq", directory=directory, log=log, port=port)
    # epmd first, as a child of ours on a private port: the node registers with it
    # instead of starting a daemon that would outlive the test.
    epmd_process = _spawn([epmd, "-port", str(epmd_port)], directory / "epmd.log", env=env)
    server = _spawn([str(_RABBITMQ_SERVER)], log, env=env, cwd=directory)
    broker.processes.extend([server, epmd_process])  # stopped in this order
    try:
        _wait_for_log(server, log, r"Server startup complete", "rabbitmq-server")
    except BaseException:
        broker.stop()
        raise
    return broker


# -------------------------------------------------------------------- NATS


@dataclass
class NatsServer(Broker):
    """A nats-server with JetStream storing in its directory; ``restart`` keeps store and port."""

    port: int = 0
    # More configuration (an authorization block) and the variables it reads.
    extra_config: str = ""
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """nats:// URL."""
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the server (again), and wait until it is ready."""
        config = self.directory / "nats.conf"
        # 8 MB messages: a 1 MB event with its headers, and records of 6 MB responses.
        config.write_text(
            f"listen: 127.0.0.1:{self.port}\nmax_payload: 8MB\n"
            f'jetstream {{ store_dir: "{self.directory / "js"}" }}\n{self.extra_config}\n'
        )
        since = len(self.log.read_text(errors="replace")) if self.log.exists() else 0
        self.processes = []
        env = {**os.environ, **self.env} if self.env else None
        _start_single(self, [_binary("nats-server"), "-c", str(config)], r"Server is ready",
                      since=since, env=env)  # fmt: skip

    def restart(self) -> None:
        """Stop (SIGTERM: JetStream flushes its store) and start again on the same port."""
        self.stop()
        self.start()

    def restart_empty(self) -> None:
        """Stop, delete the JetStream store, start again on the same port (a pod that lost its volume)."""
        self.stop()
        shutil.rmtree(self.directory / "js", ignore_errors=True)
        self.start()


def _start_single(
    broker: Broker,
    argv: list[str],
    ready: str,
    *,
    since: int = 0,
    env: dict[str, str] | None = None,
) -> None:
    """Start ``argv`` as the broker's one process; wait for ``ready`` in its log."""
    process = _spawn(argv, broker.log, env=env)
    broker.processes.append(process)
    try:
        _wait_for_log(process, broker.log, ready, broker.name, since=since)
    except BaseException:
        broker.stop()
        raise


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found is None:
        msg = f"{name} is not installed: run e2e/local/deps.sh (Debian's {name})"
        raise BrokerStartError(msg)
    return found


def start_nats(
    directory: Path, extra_config: str = "", env: dict[str, str] | None = None
) -> NatsServer:
    """Start nats-server with JetStream storing in ``directory`` (``extra_config`` added)."""
    directory.mkdir(parents=True, exist_ok=True)
    server = NatsServer(name="nats-server", directory=directory, log=directory / "nats.log",
                        port=free_port(), extra_config=extra_config, env=env or {})  # fmt: skip
    server.start()
    return server


# ------------------------------------------------------------------- Redis


@dataclass
class RedisServer(Broker):
    """A redis-server without persistence."""

    port: int = 0

    @property
    def url(self) -> str:
        """redis:// URL."""
        return f"redis://127.0.0.1:{self.port}"


def start_redis(directory: Path, *, password: str | None = None) -> RedisServer:
    """Start redis-server on a free port, nothing saved to disk (``password``: requirepass)."""
    binary = _binary("redis-server")
    directory.mkdir(parents=True, exist_ok=True)
    server = RedisServer(name="redis-server", directory=directory, log=directory / "redis.log",
                         port=free_port())  # fmt: skip
    argv = [binary, "--bind", "127.0.0.1", "--port", str(server.port), "--save", "",
            "--appendonly", "no", "--dir", str(directory), "--daemonize", "no", "--logfile", ""]  # fmt: skip
    if password is not None:
        argv += ["--requirepass", password]
    _start_single(server, argv, r"Ready to accept connections")
    return server


@contextlib.contextmanager
def running(broker: Broker) -> Iterator[Broker]:
    """Stop ``broker`` on leaving the block."""
    try:
        yield broker
    finally:
        broker.stop()
