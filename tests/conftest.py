"""Shared fixtures. Environment is set before any handler is imported: fake credentials,
one region, tracing off, and no endpoint overrides so moto intercepts every AWS call."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

for _name in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
    del os.environ[_name]
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "streamauth",
        "POWERTOOLS_METRICS_NAMESPACE": "StreamAuthTest",
    }
)

from localapi import template as tpl  # noqa: E402
from localapi.runtime import free_port  # noqa: E402

ROOT = tpl.ROOT
EVENTS = ROOT / "events"
T0 = 1_800_000_000.0  # a fixed "now" for tests: 2027-01-15


class FakeClock:
    def __init__(self, start: float = T0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    from streamauth.clock import use_clock

    fake = FakeClock()
    with use_clock(fake):
        yield fake


def reset_layer_state() -> None:
    from streamauth import aws, settings
    from streamauth.service import tokens

    settings.reset_caches()
    aws.reset_clients()
    tokens.revocations.forget()


@dataclass
class Aws:
    table_name: str
    secret_arn: str
    bus_name: str
    queue_url: str

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """moto's DynamoDB with the tables defined in template.yaml, the deployment secret, and
    the functions' Globals environment resolved as CloudFormation would."""
    from moto import mock_aws

    from localapi import atomic

    atomic.install()
    with mock_aws():
        import boto3

        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        refs = dict(tpl.parameter_defaults())
        for logical_id, table in tpl.tables().items():
            name = f"test-{logical_id}"
            dynamodb.create_table(TableName=name, **table["spec"])
            if table["ttl"]:
                dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=table["ttl"])
            refs[logical_id] = name
        secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="streamauth-test", SecretString=json.dumps({"master": "m" * 64})
        )
        refs["StreamAuthSecret"] = secret["ARN"]
        refs["StreamAuthBus"] = (
            boto3.client("events", region_name="us-east-1")
            .create_event_bus(Name="streamauth-test")["EventBusArn"]
            .rsplit("/", 1)[-1]
        )
        queue_url = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="streamauth-dlq")["QueueUrl"]
        refs["EventsDeadLetterQueue"] = queue_url
        # Globals and every function's own variables (none of them conflict), as CloudFormation resolves them
        for function in tpl.functions().values():
            for key, value in function.environment.items():
                monkeypatch.setenv(key, tpl.resolve(value, refs))
        reset_layer_state()
        yield Aws(refs["StreamAuthTable"], secret["ARN"], refs["StreamAuthBus"], queue_url)
        reset_layer_state()


_MODULES: dict[str, ModuleType] = {}


def load_function(logical_id: str) -> ModuleType:
    """A function's handler module, found through template.yaml (CodeUri + Handler) and loaded
    under a unique name: every function's module is called `app`, as on Lambda."""
    if logical_id not in _MODULES:
        function = tpl.functions()[logical_id]
        module_file, _, _ = function.handler.rpartition(".")
        path = Path(function.code_uri) / f"{module_file}.py"
        spec = importlib.util.spec_from_file_location(f"fn_{logical_id}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _MODULES[logical_id] = module
    return _MODULES[logical_id]


@dataclass
class LambdaContext:
    function_name: str = "test"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


def event(name: str, **changes: Any) -> dict[str, Any]:
    """events/<name>.json with top-level keys replaced (body dicts are JSON-encoded)."""
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    data = copy.deepcopy(data)
    for key, value in changes.items():
        if key == "body" and not isinstance(value, str | None):
            value = json.dumps(value)
        data[key] = value
    return data


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, Any]


def call(logical_id: str, evt: dict[str, Any]) -> Reply:
    raw = load_function(logical_id).lambda_handler(evt, LambdaContext(function_name=logical_id))
    headers = {k: v[-1] for k, v in (raw.get("multiValueHeaders") or {}).items()}
    headers.update(raw.get("headers") or {})
    return Reply(raw["statusCode"], json.loads(raw["body"]), headers)


# -- the running local API (e2e and security suites) ----------------------------------


@pytest.fixture(scope="session")
def local_api() -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "localapi", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("local API exited:\n" + (process.stdout.read() if process.stdout else ""))
        try:
            requests.get(url + "/", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("local API did not start within 60 s")
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def operator_header() -> dict[str, str]:
    token = subprocess.run(
        [sys.executable, "-m", "localapi", "admin-token"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    return {"Authorization": f"Bearer {token}"}


def issue_over_http(local_api: str, headers: dict[str, str], stream: str, action: str, kind: str = "token") -> str:
    """A one-time (`token`) or JWT (`jwt-token`) stream token from the running local API."""
    reply = requests.get(
        f"{local_api}/v2/broadcasts/{stream}/{kind}",
        params={"expireDate": str(int(time.time()) + 600), "type": action},
        headers=headers,
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    token: str = reply.json()["tokenId"]
    return token
