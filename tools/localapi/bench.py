"""`make bench`: cold init of every function as a ratio to a bare boto3 import, and the
DynamoDB requests each operation makes. Prints numbers; asserts nothing.

Cold init runs in fresh processes with only what Lambda would have on the path: the
function's directory, the layer as `sam build` makes it (layers/streamauth/requirements.txt
plus the package) and boto3 (the runtime's), all under .build/bench, so packages the dev
venv has for tests (cryptography, moto) do not distort the numbers.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from localapi import template as tpl

BUILD = tpl.ROOT / ".build" / "bench"
RUNS = 9

_BASELINE = """
import time; t0 = time.perf_counter()
import boto3
boto3.client("dynamodb")
print(time.perf_counter() - t0)
"""

_FUNCTION = """
import time; t0 = time.perf_counter()
import importlib, json, sys
module = importlib.import_module({module!r})
handler = getattr(module, {attribute!r})
import boto3; boto3.client("dynamodb")  # the client the first call creates
print(time.perf_counter() - t0)
"""


def _pip_target(target: Path, *args: str) -> None:
    if target.exists():
        return
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target", str(target), *args],
        check=True,
        stderr=subprocess.DEVNULL,
    )


def build_lambda_like_paths() -> tuple[Path, list[Path]]:
    """boto3 as the runtime has it; the layer as `sam build` makes it: its requirements plus
    the package source (on the path directly, so it is never stale)."""
    runtime = BUILD / "runtime"
    layer_deps = BUILD / "layer-deps"
    _pip_target(runtime, "boto3")
    _pip_target(layer_deps, "-r", str(tpl.ROOT / "layers/streamauth/requirements.txt"))
    return runtime, [tpl.ROOT / "layers/streamauth", layer_deps]


def _once(code: str, path: list[Path], env: dict[str, str]) -> float:
    out = subprocess.run(
        # -s -S: no user site, no site-packages (so not the dev venv); only the path given.
        [sys.executable, "-s", "-S", "-c", code],
        env={**env, "PYTHONPATH": os.pathsep.join(str(p) for p in path)},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def cold_init() -> None:
    runtime, layer = build_lambda_like_paths()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "POWERTOOLS_SERVICE_NAME": "streamauth",
        "POWERTOOLS_METRICS_NAMESPACE": "StreamAuth",
    }
    cases: dict[str, tuple[str, list[Path]]] = {"baseline": (_BASELINE, [runtime])}
    for name, function in sorted(tpl.functions().items()):
        module, _, attribute = function.handler.rpartition(".")
        cases[name] = (_FUNCTION.format(module=module, attribute=attribute), [function.code_uri, *layer, runtime])
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(RUNS):  # interleaved, so machine load drifts hit every case alike
        for name, (code, path) in cases.items():
            samples[name].append(_once(code, path, env))
    # The median is the typical cold start; the minimum is the least disturbed by other load
    # on the machine (noise only ever adds time), so its ratio is the steadier of the two.
    base_samples = samples.pop("baseline")
    baseline, base_min = statistics.median(base_samples), min(base_samples)
    print(f"cold init over {RUNS} fresh processes each (import + the DynamoDB client the first call makes)")
    print(f"{'':40} {'median':>9} {'ratio':>5}  {'min':>6} {'ratio':>5}")
    label = "bare import boto3 + DynamoDB client"
    print(f"{label:40} {baseline * 1000:6.0f} ms  1.00  {base_min * 1000:3.0f} ms  1.00")
    for name, values in samples.items():
        elapsed, fastest = statistics.median(values), min(values)
        print(
            f"{name:40} {elapsed * 1000:6.0f} ms  {elapsed / baseline:4.2f}"
            f"  {fastest * 1000:3.0f} ms  {fastest / base_min:4.2f}"
        )


def dynamodb_requests() -> None:
    """Requests per operation, counted at the botocore client against moto's DynamoDB."""
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    from moto import mock_aws

    from localapi import atomic

    atomic.install()
    with mock_aws():
        import boto3

        from streamauth import aws, settings
        from streamauth.models.tokens import TokenRequest, ValidateRequest
        from streamauth.service.tokens import revocations, token_service

        dynamodb = boto3.client("dynamodb")
        table = next(iter(tpl.tables().values()))
        dynamodb.create_table(TableName="bench", **table["spec"])
        secret = boto3.client("secretsmanager").create_secret(
            Name="bench", SecretString=json.dumps({"master": "b" * 64})
        )
        os.environ.update({"TABLE_NAME": "bench", "SECRET_ARN": secret["ARN"]})
        settings.reset_caches()
        aws.reset_clients()
        revocations.forget()
        service = token_service()
        seen: list[str] = []
        aws.dynamodb_client().meta.events.register("before-call.dynamodb.*", lambda model, **_: seen.append(model.name))
        now = time.time()

        def count(label: str, operation: Callable[[], Any]) -> None:
            seen.clear()
            operation()
            print(f"  {label:52} {len(seen):3}  {' '.join(seen)}")

        request = TokenRequest("bench", int(now) + 600, "publish", None)
        print("DynamoDB requests per operation:")
        count("issue one-time token", lambda: service.issue_one_time(request, now))
        count("issue JWT stream token", lambda: service.issue_jwt(request, now))
        token = service.issue_one_time(request, now)
        count(
            "validate one-time token (accepted)",
            lambda: service.validate(ValidateRequest(token.token_id, "bench", "publish", None), now),
        )
        count(
            "validate one-time token (refused)",
            lambda: service.validate(ValidateRequest(token.token_id, "bench", "publish", None), now),
        )
        jwt_token = service.issue_jwt(request, now).token_id
        check = ValidateRequest(jwt_token, "bench", "publish", None)
        count("validate JWT (revocation time not cached)", lambda: service.validate(check, now))
        count("validate JWT (revocation time cached, <= 5 s)", lambda: service.validate(check, now + 1))
        for _ in range(60):
            service.issue_one_time(request, now)
        count("list tokens (61 stored, page of 50)", lambda: service.list("bench", 0, 50, now))
        count("revoke all (1 token)", lambda: service.revoke_all("one", now))
        for _ in range(500):
            service.issue_one_time(TokenRequest("many", int(now) + 600, "play", None), now)
        count("revoke all (500 tokens)", lambda: service.revoke_all("many", now))
        count("authorizer, operator JWT", lambda: _authorize(now))
        _subscriber_and_key_counts(count, now)


def _subscriber_and_key_counts(count: Callable[[str, Callable[[], Any]], None], now: float) -> None:
    from streamauth.auth import authenticate, credentials
    from streamauth.logic import totp
    from streamauth.models.accounts import CreateAccountRequest
    from streamauth.models.subscribers import CreateSubscriberRequest
    from streamauth.service.accounts import account_service
    from streamauth.service.subscribers import subscriber_service, verify_subscriber_code

    secret = totp.new_b32_secret()
    request = CreateSubscriberRequest.parse("bench", {"subscriberId": "alice", "type": "publish", "b32Secret": secret})
    subscriber_service().create(request)
    code = totp.totp(totp.b32_key(secret), now, 60)
    count("verify subscriber code (accepted)", lambda: verify_subscriber_code("bench", "alice", code, "publish", now))
    count(
        "verify subscriber code (replayed: refused)",
        lambda: verify_subscriber_code("bench", "alice", code, "publish", now),
    )
    _, key = account_service().create(CreateAccountRequest.parse({"name": "bench"}), now)
    count("authorizer, service-account key (first use)", lambda: authenticate(f"Token {key}", credentials(), now))
    count("authorizer, service-account key (again)", lambda: authenticate(f"Token {key}", credentials(), now + 1))


def _authorize(now: float) -> None:
    from streamauth.auth import authenticate, credentials
    from streamauth.logic import signing

    token = signing.encode({"sub": "bench"}, credentials().rest_jwt_secret)
    authenticate(f"Bearer {token}", credentials(), now)


def main() -> None:
    cold_init()
    print()
    dynamodb_requests()


if __name__ == "__main__":
    main()
