"""The local stand-ins for Lambda and its backing services.

`Backend` starts moto's server (DynamoDB, Secrets Manager) unless told to use another
DynamoDB endpoint, creates the template's tables and the deployment secret, and resolves
each function's environment. `Lambdas` keeps warm worker processes per function, several
when requests overlap, as Lambda keeps execution environments.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from localapi import template as tpl

LOCAL_DIR = tpl.ROOT / ".local"
SECRET_FILE = LOCAL_DIR / "secret.json"
REGION = "us-east-1"
SECRET_NAME = "streamauth-local"
MAX_WORKERS_PER_FUNCTION = 8


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def local_secret() -> str:
    """The local deployment's master secret: made once, kept out of git (.local/ is ignored)."""
    if not SECRET_FILE.exists():
        LOCAL_DIR.mkdir(exist_ok=True)
        fd = os.open(SECRET_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"master": secrets.token_hex(32)}, handle)
    return SECRET_FILE.read_text()


class Backend:
    def __init__(self, dynamodb_endpoint: str | None = None, table_prefix: str = "streamauth-local") -> None:
        self._moto: Any = None
        self.endpoint = ""
        self.dynamodb_endpoint = dynamodb_endpoint or ""
        self.table_prefix = table_prefix
        self.secret_arn = ""
        self.table_names: dict[str, str] = {}
        self.bus_name = ""
        self.queue_url = ""

    def start(self) -> Backend:
        import logging

        from moto.server import ThreadedMotoServer

        from localapi import atomic

        atomic.install()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.dynamodb_endpoint = self.dynamodb_endpoint or self.endpoint
        self._provision()
        return self

    def stop(self) -> None:
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
        reply = self.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=local_secret())
        self.secret_arn = reply["ARN"]
        bus = tpl.parameter_defaults().get("EventBusName", "streamauth")
        self.client("events").create_event_bus(Name=bus)
        self.bus_name = bus
        self.queue_url = self.client("sqs").create_queue(QueueName="streamauth-local-dlq")["QueueUrl"]

    def refs(self) -> dict[str, str]:
        refs = dict(tpl.parameter_defaults())
        refs.update(self.table_names)
        for logical_id in tpl.load()["Resources"]:
            refs.setdefault(logical_id, logical_id)
        refs["StreamAuthSecret"] = self.secret_arn
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


class _Worker:
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
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
        ready = self._read()
        if not ready.get("ready"):
            raise RuntimeError(f"{function.logical_id} did not start")

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

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class Lambdas:
    """Warm execution environments per function, started on first use."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._functions = tpl.functions()
        self._idle: dict[str, list[_Worker]] = {name: [] for name in self._functions}
        self._count: dict[str, int] = dict.fromkeys(self._functions, 0)
        self._all: list[_Worker] = []  # idle or busy: every one is stopped with the runner
        self._cond = threading.Condition()

    def invoke(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """{"result": ...} or {"error": ..., "errorType": ...} as the Lambda service reports it."""
        worker = self._acquire(logical_id)
        try:
            reply = worker.invoke(event)
        except (RuntimeError, OSError, ValueError):
            worker.stop()
            self._release(logical_id, None)
            return {"error": "Runtime exited", "errorType": "Runtime.ExitError"}
        self._release(logical_id, worker)
        return reply

    def _acquire(self, logical_id: str) -> _Worker:
        with self._cond:
            while True:
                if self._idle[logical_id]:
                    return self._idle[logical_id].pop()
                if self._count[logical_id] < MAX_WORKERS_PER_FUNCTION:
                    self._count[logical_id] += 1
                    break
                self._cond.wait()
        try:
            worker = _Worker(self._functions[logical_id], self._backend.environment(self._functions[logical_id]))
        except Exception:
            self._release(logical_id, None)
            raise
        with self._cond:
            self._all.append(worker)
        return worker

    def _release(self, logical_id: str, worker: _Worker | None) -> None:
        with self._cond:
            if worker is None:
                self._count[logical_id] -= 1
            else:
                self._idle[logical_id].append(worker)
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            workers, self._all = self._all, []
            for idle in self._idle.values():
                idle.clear()
        for worker in workers:
            worker.stop()


def event_file(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data
