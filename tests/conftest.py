"""Shared fixtures. Environment is set before any handler is imported: fake credentials,
one region, tracing off, and no endpoint overrides so moto intercepts every AWS call."""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
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

from localapi import iam, keys  # noqa: E402
from localapi import template as tpl  # noqa: E402
from localapi.runtime import launched  # noqa: E402

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
    from streamauth.service import issuers, streams

    settings.reset_caches()
    aws.reset_clients()
    streams.states.forget()
    issuers.forget()


@dataclass
class Aws:
    table_name: str
    secret_arns: dict[str, str]  # template logical id (e.g. "SubscriberSecret") -> ARN
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
    iam.install()  # before the mock's boto3 session exists, so its clients check every call
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
        secret_arns = keys.create(
            boto3.client("secretsmanager", region_name="us-east-1"), "streamauth-test", keys.test_secret_strings()
        )
        refs.update(secret_arns)
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
        with iam.deployment(refs):  # handlers' calls are checked against their roles, with these names
            yield Aws(refs["StreamAuthTable"], secret_arns, refs["StreamAuthBus"], queue_url)
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
        setattr(module, "lambda_handler", _attributed(logical_id, getattr(module, "lambda_handler")))  # noqa: B009, B010
        _MODULES[logical_id] = module
    return _MODULES[logical_id]


def _attributed(logical_id: str, handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """The handler with its AWS calls attributed to the function and checked against the role
    template.yaml gives it (localapi.iam): a call the role does not allow fails inside the
    handler as AccessDenied does in AWS, and fails the test, naming the missing permission."""

    @functools.wraps(handler)
    def invoke(evt: Any, context: Any) -> Any:
        with iam.acting_as(logical_id) as active:
            try:
                return handler(evt, context)
            finally:
                if active is not None and active.denied:
                    pytest.fail("\n".join(active.denied), pytrace=False)

    return invoke


@dataclass
class LambdaContext:
    function_name: str = "test"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


def event(name: str, **changes: Any) -> dict[str, Any]:
    """events/<name>.json with top-level keys replaced (body dicts are JSON-encoded). New
    `pathParameters` rewrite `path` too, as API Gateway would have routed it."""
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    data = copy.deepcopy(data)
    for key, value in changes.items():
        if key == "body" and not isinstance(value, str | None):
            value = json.dumps(value)
        data[key] = value
    params = changes.get("pathParameters")
    if params and "path" not in changes and data.get("resource"):
        data["path"] = re.sub(r"\{(\w+)\+?\}", lambda m: str(params[m.group(1)]), data["resource"])
    return data


def denied(policy: dict[str, Any]) -> str:
    """The reason an authorizer's answer refuses the credential with (a Deny for the whole
    stage, which API Gateway answers with the template's 401 showing it); fails on an Allow."""
    statements = policy["policyDocument"]["Statement"]
    assert [s["Effect"] for s in statements] == ["Deny"], policy
    reason: str = policy["context"]["reason"]
    assert reason in ("missing", "malformed", "expired", "not_accepted")
    assert policy["context"]["message"]
    return reason


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


_LOCAL_IAM_RECORDS: list[Path] = []  # where the local API's workers recorded their calls


@dataclass
class LocalApi:
    url: str
    env: dict[str, str]  # the runner's environment (for `python -m localapi ...` against it)
    log: Path  # everything the runner and its workers printed


@contextlib.contextmanager
def running_local_api(log: Path, records: Path, **env_extra: str) -> Iterator[LocalApi]:
    """`python -m localapi run` on a free port, as a user starts it (make run), with the test's
    credentials and endpoints taken out of its environment; its workers' AWS calls recorded in
    `records` and checked against their roles when it stops."""
    _LOCAL_IAM_RECORDS.append(records)
    with launched(log, {iam.RECORD_ENV: str(records), **env_extra}) as api:
        yield LocalApi(api.url, api.env, log)
    denied = sorted(
        {f"{r.function} may not {r.action} on {r.resource}" for r in iam.load_records(records) if not r.allowed}
    )
    assert not denied, "the local API denied calls its functions' roles do not allow:\n" + "\n".join(denied)


@pytest.fixture(scope="session")
def local_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_local_api(ROOT / ".build" / "local-api-tests.log", tmp_path_factory.mktemp("iam-local")) as api:
        yield api.url


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Every AWS call the functions made in this run (in-process and through the local API),
    and per function what its role grants that no call used (.build/iam/report.txt too)."""
    records = iam.RECORDER.counts.copy()
    for directory in _LOCAL_IAM_RECORDS:
        records.update(iam.load_records(directory))
    if not records:
        return
    try:
        lines = iam.summary(records)
    except Exception as exc:  # the template mid-edit: say so, do not hide the test results
        lines = [f"cannot expand the functions' policies: {exc}"]
    report = ROOT / ".build" / "iam" / "report.txt"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("\n".join(lines) + "\n")
    terminalreporter.write_sep("-", "IAM: AWS calls by function, and grants no call used")
    for line in lines:
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def operator_header() -> dict[str, str]:
    token = subprocess.run(
        [sys.executable, "-m", "localapi", "admin-token"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    return {"Authorization": f"Bearer {token}"}


def issue_over_http(
    local_api: str, headers: dict[str, str], stream: str, action: str, kind: str = "token", **policy: str
) -> str:
    """A one-time (`token`) or JWT (`jwt-token`) stream token from the running local API, with the
    access policy `policy` names (query parameters: allowCidrs="127.0.0.1/32", ...)."""
    reply = requests.get(
        f"{local_api}/v2/broadcasts/{stream}/{kind}",
        params={"expireDate": str(int(time.time()) + 600), "type": action, **policy},
        headers=headers,
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    token: str = reply.json()["tokenId"]
    return token
