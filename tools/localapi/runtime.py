"""The local stand-ins for Lambda and its backing services.

`Backend` starts moto's server (DynamoDB, Secrets Manager, EventBridge, SQS) unless told to
use another DynamoDB endpoint, creates the template's tables and secrets, and resolves each
function's environment. `Lambdas` keeps a warm worker process per function (more with
`per_function`), as Lambda keeps execution environments. `LocalApiProcess` starts the whole local
API (`python -m localapi run`) in its own process, as a user does: for the tests, the fuzzer and
the bench.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from localapi import keys
from localapi import template as tpl

REGION = "us-east-1"
MAX_WORKERS_PER_FUNCTION = 1  # `run --workers-per-function N` for more
STREAM_RECORDS_KEPT = 10_000  # per table stream: DynamoDB trims after 24 h, moto never


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalApiProcess:
    """`python -m localapi run` on a free port, as a user starts it (make run), without the
    caller's AWS and Powertools settings, ready when made: it answers at `url`. Its output goes
    to `log` (a pipe nobody reads would fill up and stall it); a runner that exits, or does not
    answer within `wait` seconds, raises with the log's end. The tests, the fuzzer and the
    bench's load and memory runs all start it here."""

    def __init__(self, log: Path, env_extra: Mapping[str, str] | None = None, wait: float = 60) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
        self.env.update(env_extra or {})
        log.parent.mkdir(parents=True, exist_ok=True)
        self._output = open(log, "wb")  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localapi", "run", "--port", str(self.port)],
            cwd=tpl.ROOT,
            env=self.env,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_ready(wait)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, wait: float) -> None:
        deadline = time.monotonic() + wait
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the local API exited with {self.process.returncode}:\n{self._tail()}")
            try:
                urllib.request.urlopen(self.url + "/openapi.json", timeout=5).close()  # noqa: S310 - loopback
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the local API did not answer within {wait:.0f} s:\n{self._tail()}") from None
                time.sleep(0.2)

    def _tail(self) -> str:
        self._output.flush()
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self, timeout: float = 30) -> float:
        """SIGTERM, as Ctrl-C or `docker stop` would (SIGKILL after `timeout`); seconds until
        the runner has exited."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._output.close()
        return time.monotonic() - started


@contextlib.contextmanager
def launched(log: Path, env_extra: Mapping[str, str] | None = None) -> Iterator[LocalApiProcess]:
    """A LocalApiProcess for the `with` block, stopped on the way out."""
    api = LocalApiProcess(log, env_extra)
    try:
        yield api
    finally:
        api.stop()


def untrack_models() -> None:
    """Stop moto keeping every model object it ever makes.

    moto's BaseModel.__new__ appends each instance (every DynamoDB item written, each copy of
    one taken for an update's "before" image or a query's reply, every stream record) to a
    list on its class, for the dashboard of its standalone server, and nothing ever takes one
    out: a server that lives for thousands of requests keeps all of them. Nothing here uses
    that dashboard (it shows no models now), so the objects go when moto is done with them."""
    from moto.core.common_models import BaseModel
    from moto.core.model_instances import reset_model_data

    def __new__(cls: type[Any], *args: Any, **kwargs: Any) -> Any:
        return super(BaseModel, cls).__new__(cls)  # as moto's own, less the append

    BaseModel.__new__ = staticmethod(__new__)  # type: ignore[assignment]
    reset_model_data()


def bound_streams(kept: int) -> None:
    """Keep the last `kept` records of each DynamoDB stream, as DynamoDB Streams trims its own
    (after 24 hours); moto keeps every one, and nothing reads them here. The trim horizon moves
    with the oldest record kept, so sequence numbers and shard iterators stay consistent."""
    from moto.dynamodb.models.table import StreamShard

    original = StreamShard.add
    if getattr(original, "_streamauth_bounded", False):
        return

    def add(self: Any, old: Any, new: Any) -> None:
        original(self, old, new)
        excess = len(self.items) - kept
        if excess > kept // 10:  # trim in batches, not one record per write
            del self.items[:excess]
            self.starting_sequence_number += excess

    add._streamauth_bounded = True  # type: ignore[attr-defined]
    StreamShard.add = add  # type: ignore[method-assign]


class Backend:
    """`state`: a snapshot file (.local/state.json for `make run`) the embedded DynamoDB is
    restored from on start and kept in (localapi.state); None keeps nothing (the tests)."""

    def __init__(
        self,
        dynamodb_endpoint: str | None = None,
        table_prefix: str = "streamauth-local",
        state: Path | None = None,
        fresh: bool = False,
    ) -> None:
        self._moto: Any = None
        self._state_path = state if not dynamodb_endpoint else None  # DynamoDB Local keeps its own
        self._fresh = fresh
        self._keeper: Any = None
        self.restored = 0  # items read back from the snapshot
        self.endpoint = ""
        self.dynamodb_endpoint = dynamodb_endpoint or ""
        self.table_prefix = table_prefix
        self.secret_arns: dict[str, str] = {}  # template logical id -> ARN
        self.table_names: dict[str, str] = {}
        self.bus_name = ""
        self.queue_url = ""

    def start(self) -> Backend:
        import logging

        from moto.server import ThreadedMotoServer

        from localapi import atomic

        atomic.install()
        untrack_models()
        bound_streams(STREAM_RECORDS_KEPT)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.dynamodb_endpoint = self.dynamodb_endpoint or self.endpoint
        self._provision()
        if self._state_path is not None:
            from localapi import state

            if self._fresh:
                state.forget(self._state_path)
            data = state.read(self._state_path)  # StateError: named by the caller
            if data is not None:
                self.restored = state.restore(data, self.table_names, REGION)
            self._keeper = state.Keeper(self._state_path, self.table_names, REGION).start()
        return self

    @property
    def state_path(self) -> Path | None:
        return self._state_path

    def stop(self) -> None:
        if self._keeper is not None:
            self._keeper.close()  # the last snapshot, before the store goes
            self._keeper = None
        if self._moto is not None:
            self._moto.stop()

    def client(self, service: str) -> Any:
        import boto3

        endpoint: str = self.dynamodb_endpoint if service == "dynamodb" else self.endpoint
        return boto3.client(service, region_name=REGION, endpoint_url=endpoint, **_fake_credentials())  # type: ignore[call-overload]

    def _provision(self) -> None:
        dynamodb = self.client("dynamodb")
        existing = set(dynamodb.list_tables().get("TableNames", []))
        for logical_id, table in tpl.tables().items():
            name = f"{self.table_prefix}-{logical_id}"
            self.table_names[logical_id] = name
            if name in existing:
                continue
            dynamodb.create_table(TableName=name, **table["spec"])
            dynamodb.get_waiter("table_exists").wait(TableName=name)
            if table["ttl"]:
                dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=table["ttl"])
        self.secret_arns = self._secrets(keys.local_secret_strings())
        bus = tpl.parameter_defaults().get("EventBusName", "streamauth")
        self.client("events").create_event_bus(Name=bus)
        self.bus_name = bus
        self.queue_url = self.client("sqs").create_queue(QueueName="streamauth-local-dlq")["QueueUrl"]

    def _secrets(self, strings: dict[str, str]) -> dict[str, str]:
        """Each template secret in moto's Secrets Manager (again with the same prefix: its value
        is brought up to date); the layer's start-up rule across them is checked first."""
        keys.check(strings)
        client = self.client("secretsmanager")
        arns: dict[str, str] = {}
        for logical_id, value in strings.items():
            name = f"{self.table_prefix}-{logical_id}"
            try:
                arns[logical_id] = client.create_secret(Name=name, SecretString=value)["ARN"]
            except client.exceptions.ResourceExistsException:
                arns[logical_id] = client.put_secret_value(SecretId=name, SecretString=value)["ARN"]
        return arns

    def refs(self) -> dict[str, str]:
        refs = dict(tpl.parameter_defaults())
        refs.update(self.table_names)
        for logical_id in tpl.load()["Resources"]:
            refs.setdefault(logical_id, logical_id)
        refs.update(self.secret_arns)
        refs["StreamAuthBus"] = self.bus_name
        refs["EventsDeadLetterQueue"] = self.queue_url
        refs.update({"AWS::Region": REGION, "AWS::URLSuffix": "amazonaws.com", "AWS::AccountId": "123456789012"})
        return refs

    def environment(self, function: tpl.Function) -> dict[str, str]:
        refs = self.refs()
        env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "POWERTOOLS_"))}
        env.update({key: tpl.resolve(value, refs) for key, value in function.environment.items()})
        env.update(_fake_credentials_env())
        env.update(
            {
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
                "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_endpoint,
                "AWS_ENDPOINT_URL_SECRETS_MANAGER": self.endpoint,
                "AWS_ENDPOINT_URL_EVENTBRIDGE": self.endpoint,
                "AWS_ENDPOINT_URL_SQS": self.endpoint,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env


def _fake_credentials() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _fake_credentials_env() -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


# What a log line shows after its message, in this order (the keys streamauth's functions log).
LOG_KEYS = ("stream_id", "action", "phase", "server", "session_id", "principal_type", "status", "kickStatus")


def readable_log(line: str, function: str) -> str | None:
    """One of a worker's log lines as a person reads it in the terminal: Powertools' JSON
    (hundreds of characters of Lambda context) becomes `Function LEVEL: reason: message (k=v)`,
    reason first; metrics (EMF) lines are dropped (CloudWatch's, not a reader's); anything
    else (a print, a traceback) is shown as it is."""
    text = line.rstrip("\n")
    if not text.startswith("{"):
        return text
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if not isinstance(data, dict):
        return text
    if "_aws" in data:
        return None
    message = data.get("message")
    if message is None:
        return text
    reason = data.get("reason")
    head = f"{function} {data.get('level', 'INFO')}: "
    if reason and f"{reason}:" not in str(message):  # the authorizer's message says it already
        head += f"{reason}: "
    details = " ".join(f"{key}={data[key]}" for key in LOG_KEYS if data.get(key) not in (None, ""))
    shown = head + str(message) + (f" ({details})" if details else "")
    if data.get("exception"):
        shown += "\n" + str(data["exception"])
    return shown


def _relay_logs(stream: Any, function: str) -> None:
    """A worker's stderr (its logs), line by line, made readable, to the runner's stdout."""
    for line in iter(stream.readline, ""):
        shown = readable_log(line, function)
        if shown is not None:
            print(shown, flush=True)


class _Worker:
    """One worker process, in a session of its own: a Ctrl-C in the terminal reaches the
    runner, which stops its workers, not each worker mid-request."""

    def __init__(self, function: tpl.Function, env: dict[str, str]) -> None:
        args = [
            sys.executable,
            "-m",
            "localapi.worker",
            str(function.code_uri),
            function.handler,
            function.logical_id,
            str(function.timeout),
            *[str(path) for path in tpl.layer_dirs()],
        ]
        self.name = function.logical_id
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
            start_new_session=True,
        )
        logs = threading.Thread(target=_relay_logs, args=(self.process.stderr, self.name), daemon=True)
        logs.start()

    def wait_ready(self) -> None:
        if not self._read().get("ready"):
            raise RuntimeError(f"{self.name} did not start")

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("worker exited")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(event) + "\n")
        self.process.stdin.flush()
        return self._read()

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    def reap(self) -> None:
        """Wait for the killed process, so none is left a zombie."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)

    def close(self) -> None:
        """Kill, reap and close the pipes (only by the thread that was using the worker)."""
        self.kill()
        self.reap()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


class Lambdas:
    """Warm execution environments per function, started on first use: at most
    `per_function` each (by default one, as the README promises; requests to a busy
    function wait their turn), so memory is bounded by the functions in use, not by how
    many requests ever overlapped. A worker that dies is replaced on the next request."""

    def __init__(self, backend: Backend, per_function: int = MAX_WORKERS_PER_FUNCTION) -> None:
        self._backend = backend
        self._functions = tpl.functions()
        self._per_function = max(1, per_function)
        self._idle: dict[str, list[_Worker]] = {name: [] for name in self._functions}
        self._count: dict[str, int] = dict.fromkeys(self._functions, 0)  # started or starting
        self._all: set[_Worker] = set()  # idle, busy or starting: every one is stopped with the runner
        self._closed = False
        self._cond = threading.Condition()

    def invoke(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """{"result": ...} or {"error": ..., "errorType": ...} as the Lambda service reports it."""
        try:
            worker = self._acquire(logical_id)
        except (RuntimeError, OSError, ValueError) as exc:
            return {"error": str(exc), "errorType": "Runtime.InitError"}
        try:
            reply = worker.invoke(event)
        except (RuntimeError, OSError, ValueError):
            self._discard(logical_id, worker)
            return {"error": "Runtime exited", "errorType": "Runtime.ExitError"}
        self._release(logical_id, worker)
        return reply

    def _acquire(self, logical_id: str) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("the local API is stopping")
                if self._idle[logical_id]:
                    return self._idle[logical_id].pop()
                if self._count[logical_id] < self._per_function:
                    self._count[logical_id] += 1
                    break
                self._cond.wait()
        function = self._functions[logical_id]
        try:
            worker = _Worker(function, self._backend.environment(function))
        except Exception:
            self._forget(logical_id, None)
            raise
        with self._cond:
            closed = self._closed
            if not closed:
                self._all.add(worker)  # before the wait for "ready": stop() must find a starting worker too
        if closed:
            self._discard(logical_id, worker)
            raise RuntimeError("the local API is stopping")
        try:
            worker.wait_ready()
        except Exception:
            self._discard(logical_id, worker)
            raise
        return worker

    def _release(self, logical_id: str, worker: _Worker) -> None:
        with self._cond:
            if not self._closed:
                self._idle[logical_id].append(worker)
                self._cond.notify_all()  # one condition for every function: wake them all
                return
        self._discard(logical_id, worker)

    def _discard(self, logical_id: str, worker: _Worker) -> None:
        worker.close()
        self._forget(logical_id, worker)

    def _forget(self, logical_id: str, worker: _Worker | None) -> None:
        with self._cond:
            if worker is not None:
                self._all.discard(worker)
            self._count[logical_id] -= 1
            self._cond.notify_all()

    def kill(self) -> None:
        """Kill every worker now, without waiting (the runner's last resort)."""
        with self._cond:
            workers = list(self._all)
        for worker in workers:
            worker.kill()

    def stop(self) -> None:
        """Stop every worker, idle or busy, and reap each; later requests are refused."""
        with self._cond:
            self._closed = True
            workers = list(self._all)
            for idle in self._idle.values():
                idle.clear()
            self._cond.notify_all()
        for worker in workers:  # all killed first, then all reaped: no one waits for another
            worker.kill()
        for worker in workers:
            worker.reap()


def event_file(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data
