"""`make bench`: cold init of every function as a ratio to a bare boto3 import, the
DynamoDB requests each operation makes, and the memory and latency of `make run` under load.
Prints numbers; asserts nothing.

Cold init runs in fresh processes with only what Lambda would have on the path: the
function's directory and its own requirements.txt when it has one (as `sam build` puts them
in /var/task: .build/bench/<LogicalId>-deps), its own layers' requirements (CryptoLayer:
.build/bench/CryptoLayer-deps), the shared layer as `sam build` makes it
(layers/streamauth/requirements.txt plus the package) and boto3 (the runtime's), all under
.build/bench, so packages the dev venv has for tests (cryptography, moto) do not distort the
numbers. The functions with the crypto layer import `cryptography` on their first use of it (a
seal, an ES256 signature or check, a CloudFront signature): each is also measured with that
first use's work, and the ratio of the two is its cold-start cost of cryptography.

`make bench` also prints each token kind's length, per algorithm, against the limits of the
places a token rides in (nginx-rtmp's 255-byte name+args, SRT's 512-character streamid), and
the time one HS256 and one ES256 token takes to sign and to verify.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
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


# What the first request of a fresh CloudFrontPlaybackFunction pays beyond its import: importing
# cryptography (lazily, in the signing call), loading the RSA key, one signature.
_FIRST_SIGNATURE = """
import time; t0 = time.perf_counter()
import importlib, os
module = importlib.import_module({module!r})
handler = getattr(module, {attribute!r})
import boto3; boto3.client("dynamodb")
from streamauth.logic.cloudfront import signed_cookies
from streamauth.models.cloudfront import load_private_key
key = load_private_key(os.environ["BENCH_PRIVATE_KEY"])
signed_cookies(key, "KBENCH", "https://d.example/hls/s/*", 2000000000, None, "SHA1")
print(time.perf_counter() - t0)
"""
CLOUDFRONT = "CloudFrontPlaybackFunction"
FIRST_SIGNATURE = "  + its first signature"  # a row under CLOUDFRONT in the table
CRYPTO_LAYER = "CryptoLayer"

# What a function's first use of cryptography costs beyond its import: one seal and unseal
# (AES-GCM), or one ES256 signature and check, as its first request would.
_FIRST_CRYPTO = """
import time; t0 = time.perf_counter()
import importlib, os
module = importlib.import_module({module!r})
handler = getattr(module, {attribute!r})
import boto3; boto3.client("dynamodb")
if {seal!r}:
    from streamauth.logic import sealing
    keys = sealing.SealKeys.of({{}}, None, "k" * 64)
    sealing.unseal(sealing.seal("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", keys, "s", "sub"), keys, "s", "sub")
if {es256!r}:
    from streamauth.logic import keyset, signing
    key = keyset.load_private(os.environ["BENCH_EC_KEY"])
    token = signing.encode({{"exp": 2000000000}}, key, "ES256", "kid")
    signing.decode(token, key.public_key(), 0, algorithm="ES256")
print(time.perf_counter() - t0)
"""
FIRST_CRYPTO = "  + its first use of cryptography"
HOOKS = ("NginxHookFunction", "SrsHookFunction", "MediaMtxHookFunction", "AntMediaHookFunction", "HttpHookFunction")
SEALERS = {"CreateSubscriberFunction", "SubscriberTotpFunction", "VerifySubscriberCodeFunction", *HOOKS}


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


def function_deps(function: tpl.Function) -> list[Path]:
    """A function's own requirements.txt, installed as `sam build` installs it beside its code
    (.build/bench/<LogicalId>-deps), and its own layers' (.build/bench/<LayerId>-deps, as
    /opt/python); none for a function without either."""
    found = []
    requirements = function.code_uri / "requirements.txt"
    if requirements.exists():
        target = BUILD / f"{function.logical_id}-deps"
        _pip_target(target, "-r", str(requirements))
        found.append(target)
    for layer in function.layers:
        layer_requirements = tpl.layer_content(layer) / "requirements.txt"
        if layer_requirements.exists():
            target = BUILD / f"{layer}-deps"
            _pip_target(target, "-r", str(layer_requirements))
            found.append(target)
    return found


def _bench_ec_key() -> str:
    from streamauth.logic.keyset import generate_key

    return generate_key(0).private_key


def _bench_private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode()


def _isolated(code: str, path: list[Path], env: dict[str, str]) -> str:
    """Run `code` in a fresh interpreter that sees only `path` (-s -S: no user site, no
    site-packages, so not the dev venv); its last line of output."""
    out = subprocess.run(
        [sys.executable, "-s", "-S", "-c", code],
        env={**env, "PYTHONPATH": os.pathsep.join(str(p) for p in path)},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def _once(code: str, path: list[Path], env: dict[str, str]) -> float:
    return float(_isolated(code, path, env))


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
        path = [function.code_uri, *function_deps(function), *layer, runtime]  # /var/task, then /opt/python
        cases[name] = (_FUNCTION.format(module=module, attribute=attribute), path)
        if name == CLOUDFRONT:
            cases[FIRST_SIGNATURE] = (_FIRST_SIGNATURE.format(module=module, attribute=attribute), path)
        elif CRYPTO_LAYER in function.layers:
            seal, es256 = name in SEALERS, name not in ("CreateSubscriberFunction", "SubscriberTotpFunction")
            code = _FIRST_CRYPTO.format(module=module, attribute=attribute, seal=seal, es256=es256)
            cases[f"{name}{FIRST_CRYPTO}"] = (code, path)
    env["BENCH_PRIVATE_KEY"] = _bench_private_key() if FIRST_SIGNATURE in cases else ""
    env["BENCH_EC_KEY"] = _bench_ec_key()
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
    if FIRST_SIGNATURE in samples:
        _cloudfront_cold_start(samples)
    _crypto_cold_start(samples)


# A full cold start: interpreter start to the end of the first invocation on the function's
# sample event (os._exit right after: Lambda keeps the environment, no teardown is paid).
_FIRST_INVOCATION = """
import importlib, json, os, sys
module = importlib.import_module({module!r})
handler = getattr(module, {attribute!r})
class Context:
    function_name = {name!r}
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + {name!r}
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/" + {name!r}
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 3000
event = json.loads(os.environ["BENCH_EVENT"])
try:
    reply = handler(event, Context())
except Exception as exc:  # the authorizer refuses by raising "Unauthorized"
    reply = {{"statusCode": type(exc).__name__[:6]}}
sys.stdout.write(str(reply.get("statusCode") if isinstance(reply, dict) else type(reply).__name__) + "\\n")
sys.stdout.flush()
os._exit(0)
"""
_FLOOR = """
import os, sys
import boto3
boto3.client("dynamodb").get_item(TableName=os.environ["BENCH_TABLE"], Key={"pk": {"S": "x"}, "sk": {"S": "x"}})
sys.stdout.write("200\\n")
sys.stdout.flush()
os._exit(0)
"""
# The functions a crowd's first requests land on (issue 17's goal: <= 1.15 x the floor).
HOT = ("NginxHookFunction", "ValidateTokenFunction", "CreateViewerTokenFunction")
FIRST_RUNS = 11  # two runs on a quiet machine agree within 0.05 on the min and median ratios


def _spawn(code: str, path: list[Path], env: dict[str, str]) -> tuple[float, str]:
    """Wall time from starting the interpreter to the first invocation's answer, and its status."""
    began = time.perf_counter()
    status = _isolated(code, path, env)
    return time.perf_counter() - began, status


def _sample_events(backend: Any, runs: int) -> dict[str, list[dict[str, Any]]]:
    """Each function's sample event, made real where it names a credential: the hook secret in
    hook paths, and for the hot functions a credential that is admitted (a fresh one-time token
    per run, since each run consumes one; the viewer stream opened)."""
    from localapi import keys

    strings = keys.local_secret_strings()
    hook_secret = keys.key_of(strings, "hookSecret")
    functions = tpl.functions()
    os.environ.update(backend.environment(functions["IssueTokenFunction"]))
    from streamauth import aws, settings
    from streamauth.models.tokens import TokenRequest
    from streamauth.service.tokens import token_service
    from streamauth.service.viewers import viewer_service

    settings.reset_caches()
    aws.reset_clients()
    now = time.time()
    tokens = token_service()

    def one_time(stream: str) -> str:
        return tokens.issue_one_time(TokenRequest(stream, int(now) + 3600, "publish", None), now).token_id

    events: dict[str, list[dict[str, Any]]] = {}
    for name, function in functions.items():
        text = (tpl.ROOT / "events" / f"{function.code_uri.name}.json").read_text()
        text = text.replace("replace-with-make-hook-secret", hook_secret)
        sample = json.loads(text)
        made = []
        for _ in range(runs):
            evt = json.loads(json.dumps(sample))
            if name == "NginxHookFunction":
                evt["body"] = evt["body"].replace("token=abc123", "token=" + one_time("cam1"))
            elif name == "ValidateTokenFunction":
                body = json.loads(evt["body"])
                body["tokenId"] = one_time(body["streamId"])
                evt["body"] = json.dumps(body)
            made.append(evt)
        events[name] = made
    viewer_body = json.loads(events["CreateViewerTokenFunction"][0]["body"])
    os.environ.update(backend.environment(functions["SetPublicViewersFunction"]))
    settings.reset_caches()
    viewer_service().set_public(viewer_body["stream_id"], True, now)
    return events


_backends: list[Any] = []


def _bench_backend() -> Any:
    """The local API's backend (moto's DynamoDB and Secrets Manager on loopback) for this run's
    cold-start sections: one per process, since moto's state is; stopped at exit."""
    if not _backends:
        from localapi.runtime import Backend

        backend = Backend(None, table_prefix="bench").start()
        atexit.register(backend.stop)
        _backends.append(backend)
    return _backends[0]


def first_invocation(names: list[str] | None = None) -> None:
    """Cold start as Lambda bills it, per function (`names`: these only), against a local DynamoDB (moto's server)."""
    runtime, layer = build_lambda_like_paths()
    backend = _bench_backend()
    events = _sample_events(backend, FIRST_RUNS)
    functions = tpl.functions()
    any_function = next(iter(functions.values()))
    floor_env = {k: v for k, v in backend.environment(any_function).items() if k != "PYTHONPATH"}
    floor_env["BENCH_TABLE"] = next(iter(backend.table_names.values()))
    cases: dict[str, tuple[str, list[Path], dict[str, str]]] = {"floor": (_FLOOR, [runtime], floor_env)}
    for name, function in sorted(functions.items()):
        if names is not None and name not in names:
            continue
        module, _, attribute = function.handler.rpartition(".")
        path = [function.code_uri, *function_deps(function), *layer, runtime]
        env = {k: v for k, v in backend.environment(function).items() if k != "PYTHONPATH"}
        cases[name] = (_FIRST_INVOCATION.format(module=module, attribute=attribute, name=name), path, env)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    status: dict[str, str] = {}
    for run in range(FIRST_RUNS):  # interleaved, so machine load drifts hit every case alike
        for name, (code, path, env) in cases.items():
            if name != "floor":
                env = {**env, "BENCH_EVENT": json.dumps(events[name][run])}
            elapsed, status[name] = _spawn(code, path, env)
            samples[name].append(elapsed)
    floor = samples.pop("floor")
    base, base_min = statistics.median(floor), min(floor)
    print(f"full cold start over {FIRST_RUNS} fresh interpreters each: interpreter start to the end of the first")
    print("invocation on the function's sample event, against moto's DynamoDB and Secrets Manager on loopback;")
    print("paired: each run's ratio to the floor of the same round (min median max, IQR)")
    print(f"{'':40} {'status':>6} {'median':>9} {'ratio':>5}  {'min':>6} {'ratio':>5}  {'paired ratio':>12}")
    floor_label = "floor: boto3 + client + one GetItem"
    print(f"{floor_label:40} {'200':>6} {base * 1000:6.0f} ms  1.00  {base_min * 1000:3.0f} ms  1.00")
    for name, values in samples.items():
        elapsed, fastest = statistics.median(values), min(values)
        mark = " *" if name in HOT else ""
        paired = _spread([v / f for v, f in zip(values, floor, strict=True)])
        print(
            f"{name + mark:40} {status[name]:>6} {elapsed * 1000:6.0f} ms  {elapsed / base:4.2f}"
            f"  {fastest * 1000:3.0f} ms  {fastest / base_min:4.2f}  {paired}"
        )
    print("  * the functions a crowd's first requests land on (with SnapStart, see the restore table)")


# A SnapStart restore, emulated: the function's init and its before-snapshot hook in one process,
# then fork (the snapshot: the child starts from the parent's memory as it was), and in the child
# the after-restore hook, the first invocation (timed from the fork), then warm invocations.
# `random`'s reseed at fork (os.register_at_fork) is undone in the child: a restore copies memory
# as it was, so only the after-restore hook may reseed it.
_RESTORE = """
import time; t0 = time.perf_counter()
import importlib, json, os, random, statistics, sys
module = importlib.import_module({module!r})
handler = getattr(module, {attribute!r})
from streamauth import priming
priming.before_snapshot()
init = time.perf_counter() - t0
class Context:
    function_name = {name!r}
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + {name!r}
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/" + {name!r}
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 3000
def call(event):
    try:
        reply = handler(event, Context())
    except Exception as exc:
        return type(exc).__name__[:6]
    return str(reply.get("statusCode") if isinstance(reply, dict) else type(reply).__name__)
events = json.loads(os.environ["BENCH_EVENTS"])
snapshot = random.getstate()
read, write = os.pipe()
sys.stdout.flush()
began = time.perf_counter()
if os.fork() == 0:
    random.setstate(snapshot)
    before = set(sys.modules)
    priming.after_restore()
    hook = time.perf_counter() - began
    status = call(events[0])
    first = time.perf_counter() - began
    imported = sorted(set(sys.modules) - before)
    warm = []
    for event in events[1:]:
        started = time.perf_counter()
        call(event)
        warm.append(time.perf_counter() - started)
    os.write(write, json.dumps([first, statistics.median(warm), init, hook, status, imported]).encode())
    os._exit(0)
os.close(write)
chunks = []
while chunk := os.read(read, 65536):
    chunks.append(chunk)
os.wait()
sys.stdout.write(b"".join(chunks).decode() + "\\n")
sys.stdout.flush()
os._exit(0)
"""
RESTORE_RUNS = 9
RESTORE_WARM = 5  # warm invocations after the first, in the same restored process: their median is "warm"
RESTORE_GOAL = 1.3


def snapstart_functions() -> list[str]:
    resources = tpl.load()["Resources"]
    return sorted(name for name in tpl.functions() if "SnapStart" in resources[name]["Properties"])


def _spread(values: list[float]) -> str:
    """min median max of `values`, and their interquartile range."""
    low, _, high = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    return f"{min(values):4.2f} {statistics.median(values):4.2f} {max(values):4.2f}  IQR {high - low:4.2f}"


def restore(runs: int = RESTORE_RUNS, names: list[str] | None = None) -> dict[str, list[tuple[float, float]]]:
    """Each SnapStart function restored `runs` times (interleaved): restore to the first response,
    against a warm invocation of the same restored process."""
    runtime, layer = build_lambda_like_paths()
    names = names or snapstart_functions()
    per_run = 1 + RESTORE_WARM
    backend = _bench_backend()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    inits: dict[str, list[float]] = {name: [] for name in names}
    hooks: dict[str, list[float]] = {name: [] for name in names}
    status: dict[str, str] = {}
    imported: dict[str, list[str]] = {}
    events = _sample_events(backend, runs * per_run)
    functions = tpl.functions()
    for run in range(runs):  # interleaved, so machine load drifts hit every function alike
        for name in names:
            function = functions[name]
            module, _, attribute = function.handler.rpartition(".")
            path = [function.code_uri, *function_deps(function), *layer, runtime]
            env = {k: v for k, v in backend.environment(function).items() if k != "PYTHONPATH"}
            env["BENCH_EVENTS"] = json.dumps(events[name][run * per_run : (run + 1) * per_run])
            code = _RESTORE.format(module=module, attribute=attribute, name=name)
            first, warm, init, hook, status[name], imported[name] = json.loads(_isolated(code, path, env))
            samples[name].append((first, warm))
            inits[name].append(init)
            hooks[name].append(hook)
    print(f"SnapStart restore, emulated ({runs} restores each, interleaved): init + before-snapshot hook in one")
    print("process, fork (the snapshot), then after-restore hook + first invocation, against the median of")
    print(f"{RESTORE_WARM} warm invocations in the same restored process (goal: first <= {RESTORE_GOAL}x warm)")
    print(f"{'':28} {'status':>6} {'init':>7} {'hook':>7} {'first':>8} {'warm':>7}  {'first/warm min med max':>22}")
    for name, pairs in samples.items():
        ratios = [first / warm for first, warm in pairs]
        first_ms = statistics.median(f for f, _ in pairs) * 1000
        warm_ms = statistics.median(w for _, w in pairs) * 1000
        print(
            f"{name:28} {status[name]:>6} {statistics.median(inits[name]) * 1000:4.0f} ms"
            f" {statistics.median(hooks[name]) * 1000:4.1f} ms {first_ms:5.1f} ms {warm_ms:4.1f} ms  {_spread(ratios)}"
        )
    left = {name: mods for name, mods in imported.items() if mods}
    if left:
        print("  still imported by a first invocation after the restore:")
        for name, mods in left.items():
            print(f"    {name}: {', '.join(mods)}")
    return samples


def _crypto_cold_start(samples: dict[str, list[float]]) -> None:
    """Each function with the crypto layer: its first request with cryptography (import, first
    seal or ES256 signature and check) against its import alone, which never imports it."""
    rows = [(n.removesuffix(FIRST_CRYPTO), n) for n in samples if n.endswith(FIRST_CRYPTO)]
    if not rows:
        return
    deps = BUILD / f"{CRYPTO_LAYER}-deps"
    size = sum(f.stat().st_size for f in deps.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
    print(f"{CRYPTO_LAYER} (cryptography), unzipped: {size / 1e6:.1f} MB, on {len(rows) + 1} functions only")
    print(f"{'first request with cryptography / import only':48} {'median':>6} {'min':>6}")
    for name, first in rows:
        median = statistics.median(samples[first]) / statistics.median(samples[name])
        fastest = min(samples[first]) / min(samples[name])
        print(f"  {name:46} {median:6.2f} {fastest:6.2f}")


def _cloudfront_cold_start(samples: dict[str, list[float]]) -> None:
    """The function with cryptography against itself without it, and against the others."""
    others = [
        statistics.median(v)
        for n, v in samples.items()
        if n not in (CLOUDFRONT, FIRST_SIGNATURE) and not n.endswith(FIRST_CRYPTO)
    ]
    typical = statistics.median(others)
    imported, signed = statistics.median(samples[CLOUDFRONT]), statistics.median(samples[FIRST_SIGNATURE])
    fastest_import, fastest_signed = min(samples[CLOUDFRONT]), min(samples[FIRST_SIGNATURE])
    print(f"{CLOUDFRONT}: cryptography from {CRYPTO_LAYER}, imported for its first signature")
    print(
        f"  first request with cryptography (import, key, one signature) / without (import only):"
        f" {signed / imported:4.2f} median, {fastest_signed / fastest_import:4.2f} min"
    )
    print(
        f"  against the other functions' median cold init ({typical * 1000:.0f} ms):"
        f" {signed / typical:4.2f} with the first signature, {imported / typical:4.2f} import only"
    )


@contextlib.contextmanager
def moto_deployment(table_name: str) -> Iterator[None]:
    """Inside moto: the template's table and secrets, and the environment NginxHookFunction gets
    from the template (the layer's settings, clients and stream cache reset to it). For the
    benches that run the service code in-process (this one's request counts, `make bench-scale`)."""
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    from moto import mock_aws

    from localapi import atomic, keys

    atomic.install()
    with mock_aws():
        import boto3

        from streamauth import aws, settings
        from streamauth.service import issuers, streams

        table = next(iter(tpl.tables().values()))
        boto3.client("dynamodb").create_table(TableName=table_name, **table["spec"])
        refs = dict(tpl.parameter_defaults())
        refs.update(keys.create(boto3.client("secretsmanager"), table_name, keys.test_secret_strings()))
        refs.update({"StreamAuthTable": table_name, "StreamAuthBus": table_name, "EventsDeadLetterQueue": table_name})
        resolvable = {k: refs.get(k, k) for k in [*refs, *tpl.load()["Resources"]]}
        for name, value in tpl.functions()["NginxHookFunction"].environment.items():
            os.environ[name] = tpl.resolve(value, resolvable)
        settings.reset_caches()
        aws.reset_clients()
        streams.states.forget()
        issuers.forget()
        yield


def dynamodb_requests() -> None:
    """Requests per operation, counted at the botocore client against moto's DynamoDB."""
    with moto_deployment("bench"):
        from streamauth import aws

        seen: list[str] = []
        aws.dynamodb_client().meta.events.register("before-call.dynamodb.*", lambda model, **_: seen.append(model.name))

        def count(label: str, operation: Callable[[], Any]) -> None:
            seen.clear()
            operation()
            print(f"  {label:58} {len(seen):3}  {' '.join(seen)}")

        print("DynamoDB requests per operation:")
        now = time.time()
        _token_counts(count, now)
        _hook_counts(count, now)
        _cloudfront_counts(count, now)
        _subscriber_and_key_counts(count, now)


def _token_counts(count: Callable[[str, Callable[[], Any]], None], now: float) -> None:
    from streamauth.models.tokens import TokenRequest, ValidateRequest
    from streamauth.models.viewers import ViewerTokenRequest
    from streamauth.service.streams import states
    from streamauth.service.tokens import token_service
    from streamauth.service.viewers import viewer_service

    service = token_service()
    request = TokenRequest("bench", int(now) + 600, "publish", None)
    count("issue one-time token", lambda: service.issue_one_time(request, now))
    count("issue JWT stream token", lambda: service.issue_jwt(request, now))
    token = service.issue_one_time(request, now)
    check = ValidateRequest(token.token_id, "bench", "publish", None)
    count("validate one-time token (accepted)", lambda: service.validate(check, now))
    count("validate one-time token (refused)", lambda: service.validate(check, now))
    jwt_check = ValidateRequest(service.issue_jwt(request, now).token_id, "bench", "publish", None)
    states.forget()
    count("validate JWT (stream state not cached)", lambda: service.validate(jwt_check, now))
    count("validate JWT (stream state cached, <= 5 s)", lambda: service.validate(jwt_check, now + 1))
    for _ in range(60):
        service.issue_one_time(request, now)
    count("list tokens (61 stored, page of 50)", lambda: service.list("bench", 0, 50, now))
    count("revoke all (1 token)", lambda: service.revoke_all("one", now))
    for _ in range(500):
        service.issue_one_time(TokenRequest("many", int(now) + 600, "play", None), now)
    count("revoke all (500 tokens)", lambda: service.revoke_all("many", now))
    viewers = viewer_service()
    viewers.set_public("open", True, now - 1)
    states.forget()
    mint = ViewerTokenRequest("open", "user")
    count("mint viewer JWT (stream state not cached)", lambda: viewers.mint(mint, now))
    count("mint viewer JWT (cached)", lambda: viewers.mint(mint, now + 1))


def _hook_counts(count: Callable[[str, Callable[[], Any]], None], now: float) -> None:
    from streamauth.logic import totp
    from streamauth.models.hooks import parse_nginx
    from streamauth.models.subscribers import CreateSubscriberRequest
    from streamauth.models.tokens import TokenRequest
    from streamauth.service.access import access_service
    from streamauth.service.streams import states
    from streamauth.service.subscribers import subscriber_service
    from streamauth.service.tokens import token_service

    def hook(call: str, client: int, credential: str) -> Any:
        parsed = parse_nginx(f"app=live&addr=10.0.0.1&clientid={client}&call={call}&name=bench&{credential}")
        assert parsed is not None
        return parsed

    access = access_service()
    tokens = token_service()
    one_time = tokens.issue_one_time(TokenRequest("bench", int(now) + 600, "publish", None), now - 1).token_id
    jwt = tokens.issue_jwt(TokenRequest("bench", int(now) + 600, "play", None), now - 1).token_id
    count(
        "hook: admit a one-time token (with its session)",
        lambda: access.decide(hook("publish", 1, f"token={one_time}"), now),
    )
    states.forget()
    count(
        "hook: admit a JWT stream token (state not cached)", lambda: access.decide(hook("play", 2, f"token={jwt}"), now)
    )
    count("hook: admit a JWT stream token (state cached)", lambda: access.decide(hook("play", 3, f"token={jwt}"), now))
    count("hook: renew a token session (on_update)", lambda: access.renew(hook("update_play", 2, f"token={jwt}"), now))
    count("hook: end a token session (on_play_done)", lambda: access.end(hook("play_done", 2, f"token={jwt}")))
    secret = totp.new_b32_secret()
    created = CreateSubscriberRequest.parse("bench", {"subscriberId": "alice", "type": "publish", "b32Secret": secret})
    subscriber_service().create(created, now)
    code = totp.totp(totp.b32_key(secret), now, 60)
    subscriber = f"subscriberId=alice&subscriberCode={code}"
    count("hook: admit a subscriber (limit 1)", lambda: access.decide(hook("publish", 4, subscriber), now))
    count("hook: renew a subscriber session", lambda: access.renew(hook("update_publish", 4, subscriber), now))


def _cloudfront_counts(count: Callable[[str, Callable[[], Any]], None], now: float) -> None:
    from streamauth.models.cloudfront import CloudFrontPlaybackRequest, SigningKey, load_private_key
    from streamauth.models.hooks import PresentedCredentials
    from streamauth.models.tokens import TokenRequest
    from streamauth.service.access import access_service
    from streamauth.service.cloudfront import CloudFrontPlaybackService
    from streamauth.service.streams import states
    from streamauth.service.tokens import token_service
    from streamauth.settings import CloudFrontSettings

    key = SigningKey(load_private_key(_bench_private_key()), "KBENCH")
    settings = CloudFrontSettings("d.example", "", "hls", "d.example", "Lax", 300, "SHA1")
    service = CloudFrontPlaybackService(access_service(), settings, lambda: key, False, True)
    tokens = token_service()
    one_time = tokens.issue_one_time(TokenRequest("bench", int(now) + 600, "play", None), now - 1).token_id
    jwt = tokens.issue_jwt(TokenRequest("bench", int(now) + 600, "play", None), now - 1).token_id

    def grant(token: str) -> Any:
        return service.grant(CloudFrontPlaybackRequest("bench", PresentedCredentials(token), "10.0.0.1"), now)

    count("cloudfront cookies: a one-time token (with its session)", lambda: grant(one_time))
    states.forget()
    count("cloudfront cookies: a JWT stream token (state not cached)", lambda: grant(jwt))
    count("cloudfront cookies: a JWT stream token (state cached)", lambda: grant(jwt))


def _subscriber_and_key_counts(count: Callable[[str, Callable[[], Any]], None], now: float) -> None:
    from streamauth.auth import auth_context, authenticate
    from streamauth.logic import totp
    from streamauth.models.accounts import CreateAccountRequest
    from streamauth.models.principals import operator
    from streamauth.models.subscribers import CreateSubscriberRequest
    from streamauth.service.accounts import account_service
    from streamauth.service.subscribers import subscriber_service

    secret = totp.new_b32_secret()
    request = CreateSubscriberRequest.parse("bench", {"subscriberId": "bob", "type": "publish", "b32Secret": secret})
    service = subscriber_service()
    service.create(request, now)
    code = totp.totp(totp.b32_key(secret), now, 60)
    count("verify subscriber code (wrong)", lambda: service.verify("bench", "bob", "000000", "publish", now, None))
    count("verify subscriber code (accepted)", lambda: service.verify("bench", "bob", code, "publish", now, None))
    count("verify subscriber code (replayed)", lambda: service.verify("bench", "bob", code, "publish", now, None))
    _, key = account_service().create(CreateAccountRequest.parse({"name": "bench"}), now, operator())
    count("authorizer, service-account key (first use)", lambda: authenticate(f"Token {key}", auth_context(), now))
    count("authorizer, service-account key (again)", lambda: authenticate(f"Token {key}", auth_context(), now + 1))
    count("authorizer, operator JWT", lambda: _authorize(now))


def _authorize(now: float) -> None:
    from streamauth.auth import auth_context, authenticate
    from streamauth.logic import signing

    token = signing.encode({"sub": "bench", "exp": int(now) + 60}, auth_context().keys.rest_jwt_secret)
    authenticate(f"Bearer {token}", auth_context(), now)


# -- `make run` under load: memory of every process, and latency, first calls against last ----

LOAD_CALLS = 2000  # subscriber creates, and as many viewer tokens
LOAD_THREADS = 8
LOAD_STREAMS = 8  # viewer tokens spread over streams and client addresses, as a crowd's are
TOKENS_PER_ADDRESS = 25
LATENCY_WINDOW = 200  # calls whose median is compared, at the start and at the end


def process_tree(pid: int) -> dict[int, int]:
    """{pid: VmRSS in kB} of a process and all its descendants, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])  # after "(comm)": state, ppid
            children.setdefault(parent, []).append(int(entry.name))
    found: dict[int, int] = {}
    pending = [pid]
    while pending:
        current = pending.pop()
        found[current] = _rss_kb(current)
        pending.extend(children.get(current, []))
    return found


def _rss_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0  # a zombie has no memory left


def tree_rss_mb(pid: int) -> float:
    return sum(process_tree(pid).values()) / 1024


class LocalApi:
    """`python -m localapi run` of its own on a free port (output to `log`), so the memory of
    exactly its processes can be measured."""

    def __init__(self, log: Path, iam_records: Path) -> None:
        from localapi import iam
        from localapi.runtime import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
        env[iam.RECORD_ENV] = str(iam_records)
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localapi", "run", "--port", str(self.port)],
            cwd=tpl.ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        import http.client

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the local API exited with {self.process.returncode}")
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                connection.request("GET", "/")
                connection.getresponse().read()
                return
            except OSError:
                time.sleep(0.2)
            finally:
                connection.close()
        self.process.kill()
        raise RuntimeError(f"the local API did not answer within {timeout:.0f} s")

    def stop(self, timeout: float = 30) -> float:
        """SIGTERM, as Ctrl-C or `docker stop` would; seconds until the runner has exited."""
        started = time.monotonic()
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._log.close()
        return time.monotonic() - started


class LoadClient:
    """Keep-alive connections per thread: one from 127.0.0.1 for the operator calls, one from
    the current client address for viewer tokens (127.0.0.2 on: all of 127/8 is loopback)."""

    def __init__(self, port: int, operator_token: str) -> None:
        self._port = port
        self._operator = {"Authorization": f"Bearer {operator_token}", "Content-Type": "application/json"}
        self._local = threading.local()

    def call(self, method: str, path: str, body: Any, source: str = "127.0.0.1", operator: bool = True) -> float:
        """Seconds the call took; RuntimeError unless it answered 200."""
        import http.client

        connections: dict[str, http.client.HTTPConnection] = self._local.__dict__.setdefault("connections", {})
        if source not in connections:
            for address in [a for a in connections if a != "127.0.0.1"]:  # done with that address
                connections.pop(address).close()
            connections[source] = http.client.HTTPConnection(
                "127.0.0.1", self._port, timeout=60, source_address=(source, 0)
            )
        connection = connections[source]
        headers = self._operator if operator else {"Content-Type": "application/json"}
        started = time.perf_counter()
        try:
            connection.request(method, path, body=json.dumps(body), headers=headers)
            reply = connection.getresponse()
            data = reply.read()
        except (OSError, http.client.HTTPException):
            connections.pop(source).close()
            raise
        elapsed = time.perf_counter() - started
        if reply.status != 200:
            raise RuntimeError(f"{method} {path} from {source}: {reply.status} {data[:200]!r}")
        return elapsed

    def open_streams(self, streams: list[str]) -> None:
        for stream in streams:
            self.call("PUT", f"/api/v1/streams/{stream}/public-viewers", {"enabled": True})

    def create_subscriber(self, stream: str, index: int) -> float:
        body = {"subscriberId": f"sub{index:04d}", "type": "play"}
        return self.call("POST", f"/v2/broadcasts/{stream}/subscribers", body)

    def viewer_token(self, stream: str, index: int, first_address: int = 2) -> float:
        address = first_address + index // TOKENS_PER_ADDRESS  # 127.0.0.2 ... as the limit needs
        source = f"127.{address // 65536 % 256}.{address // 256 % 256}.{address % 256}"
        body = {"stream_id": stream, "unique_user_identifier": f"viewer{index:04d}"}
        return self.call("POST", "/api/v1/tokens", body, source=source, operator=False)


def run_load(
    client: LoadClient,
    calls: int,
    threads: int = LOAD_THREADS,
    prefix: str = "load",
    first_address: int = 2,
    start: int = 0,
) -> list[float]:
    """`calls` subscriber creates and `calls` viewer tokens, interleaved, over LOAD_STREAMS
    open streams, from `threads` threads; each call's latency, in the order they were made.
    Viewer tokens come from 127.0.0.<first_address> on, TOKENS_PER_ADDRESS from each; `start`
    continues an earlier run_load (subscriber ids and client addresses go on from there)."""
    from concurrent.futures import ThreadPoolExecutor

    streams = [f"{prefix}{n}" for n in range(LOAD_STREAMS)]
    client.open_streams(streams)

    def one(task: int) -> float:
        index = task // 2
        stream = streams[index % len(streams)]
        if task % 2 == 0:
            return client.create_subscriber(stream, index)
        return client.viewer_token(stream, index, first_address)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, range(2 * start, 2 * (start + calls))))


def operator_token() -> str:
    return subprocess.run(
        [sys.executable, "-m", "localapi", "admin-token"], cwd=tpl.ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def memory(calls: int = LOAD_CALLS) -> None:
    """`make run` under load: the RSS of the runner and all its workers before and after
    `calls` subscriber creates and `calls` viewer tokens, the median latency of the first and
    the last calls, and how long the runner takes to stop."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="localapi-bench-") as scratch:
        api = LocalApi(Path(scratch) / "run.log", Path(scratch) / "iam")
        try:
            client = LoadClient(api.port, operator_token())
            run_load(client, LOAD_THREADS, prefix="warm")  # every function's worker started
            before = tree_rss_mb(api.process.pid)
            started = time.perf_counter()
            latencies = run_load(client, calls, first_address=3)
            elapsed = time.perf_counter() - started
            after = tree_rss_mb(api.process.pid)
            processes = len(process_tree(api.process.pid))
        finally:
            stop = api.stop()
    window = min(LATENCY_WINDOW, len(latencies) // 2)
    first, last = statistics.median(latencies[:window]), statistics.median(latencies[-window:])
    print(f"make run under load: {calls} subscriber creates + {calls} viewer tokens, {LOAD_THREADS} threads")
    print(f"  RSS of the runner and its workers ({processes} processes): {before:.0f} MB before, {after:.0f} MB after")
    print(f"  {2 * calls} calls in {elapsed:.1f} s; median latency, first {window}: {first * 1000:.1f} ms,")
    print(f"  last {window}: {last * 1000:.1f} ms ({last / first:.2f}x); stopped in {stop:.1f} s")


DECISION_CLIENTS = 20
DECISION_SECONDS = 30
DECISION_TOKENS = 200


def _hook_prefix() -> str:
    url = subprocess.run(
        [sys.executable, "-m", "localapi", "hook-url"], cwd=tpl.ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    return url[url.index("/hooks/") :]


def decisions(clients: int = DECISION_CLIENTS, seconds: float = DECISION_SECONDS) -> None:
    """The local API deciding admissions under load (loopback only): `clients` threads, each
    with its own keep-alive connection, send nginx-rtmp on_play hooks for `seconds`, each a
    new client (its own clientid) holding one of DECISION_TOKENS viewer JWTs of one open
    stream; every decision admits and records a session. Decisions per second and latency
    percentiles; nothing asserted. The local API runs each function as one warm worker
    process, so this measures the code and moto, not Lambda's concurrency."""
    import http.client
    import tempfile
    import urllib.parse
    from concurrent.futures import ThreadPoolExecutor

    with tempfile.TemporaryDirectory(prefix="localapi-bench-") as scratch:
        api = LocalApi(Path(scratch) / "run.log", Path(scratch) / "iam")
        try:
            LoadClient(api.port, operator_token()).open_streams(["crowd"])
            hooks = _hook_prefix() + "/nginx-rtmp"
            minted = []
            connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=60)
            for n in range(DECISION_TOKENS):
                body = json.dumps({"stream_id": "crowd", "unique_user_identifier": f"viewer{n:04d}"})
                connection.request("POST", "/api/v1/tokens", body=body, headers={"Content-Type": "application/json"})
                reply = connection.getresponse()
                minted.append(json.loads(reply.read())["token"])
            connection.close()
            deadline = time.perf_counter() + seconds

            def client(number: int) -> tuple[list[float], int]:
                own = http.client.HTTPConnection("127.0.0.1", api.port, timeout=60)
                latencies: list[float] = []
                refused = 0
                while time.perf_counter() < deadline:
                    n = number * 1_000_000 + len(latencies)
                    form = {
                        "app": "live",
                        "call": "play",
                        "name": "crowd",
                        "addr": f"10.0.{number}.{n % 250}",
                        "clientid": str(n),
                        "token": minted[n % len(minted)],
                    }
                    began = time.perf_counter()
                    own.request(
                        "POST",
                        hooks,
                        body=urllib.parse.urlencode(form),
                        headers={"Content-Type": "application/x-www-form-urlencoded"},
                    )
                    reply = own.getresponse()
                    reply.read()
                    latencies.append(time.perf_counter() - began)
                    refused += reply.status != 200
                own.close()
                return latencies, refused

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=clients) as pool:
                results = list(pool.map(client, range(clients)))
            elapsed = time.perf_counter() - started
        finally:
            api.stop()
    latencies = sorted(t for found, _ in results for t in found)
    refused = sum(r for _, r in results)
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"local API decisions: {clients} clients for {seconds:.0f} s on loopback, nginx-rtmp on_play with viewer JWTs"
    )
    print(
        f"  {len(latencies):,} decisions ({refused} refused), {len(latencies) / elapsed:.0f} per second;"
        f" p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
    )


LAYER_GOAL_MB = 5.0


def layer_size() -> None:
    """The layer's unzipped size as `sam build` makes it: its requirements (pip, as SAM runs it)
    plus the package, without bytecode caches (Lambda's runtime writes none into /opt)."""
    _, (package_root, deps) = build_lambda_like_paths()

    def size(root: Path) -> int:
        return sum(f.stat().st_size for f in root.rglob("*") if f.is_file() and "__pycache__" not in f.parts)

    package, dependencies = size(package_root / "streamauth"), size(deps)
    total = (package + dependencies) / 1e6
    print(
        f"layer, unzipped: {total:.2f} MB (goal <= {LAYER_GOAL_MB:.0f} MB): streamauth {package / 1e6:.2f} MB,"
        f" requirements {dependencies / 1e6:.2f} MB"
    )


# -- tokens: lengths against where they ride, and sign/verify time per algorithm -----------------

NGINX_RTMP_LIMIT = 255  # bytes of stream name + "?" + args (nginx-rtmp cuts the rest silently)
SRT_STREAMID_LIMIT = 512  # characters of an SRT streamid (SRT's access control: SRTO_STREAMID)
BENCH_STREAMS = ("cam1", "3f2b8c1e-6d4a-4b7e-9c1f-2a8d5e7b9c01")  # a short id, and a UUID (Reactive's ids)
SIGN_RUNS = 2000


def _codecs(stream_id: str, now: int, private: tuple[Any, ...], public: tuple[Any, ...]) -> dict[str, Any]:
    """Each kind's codec with in-memory keys (HS256: 64 characters, as the stack generates them;
    ES256: a key set as the first rotation makes it) and claims for `stream_id`."""
    from streamauth.logic.tokens import mediamtx_claims, stream_jwt_claims
    from streamauth.logic.viewers import viewer_claims
    from streamauth.models.tokens import TokenRequest
    from streamauth.models.viewers import ViewerTokenRequest
    from streamauth.service.jwt_codecs import JwtCodec

    hmac = "x" * 64

    def codec(kind: str, algorithm: str, refuses_audience: bool = False) -> JwtCodec:
        return JwtCodec(
            kind, algorithm, lambda: hmac, 86_400, None, refuses_audience, lambda _: private, lambda _: public
        )

    stream = stream_jwt_claims(TokenRequest(stream_id, now + 3600, "publish", None), now)
    viewer = viewer_claims(ViewerTokenRequest(stream_id, "viewer-0001"), now, 600)
    mediamtx = mediamtx_claims(stream_id, "publish", now + 3600, now, "streamauth", "mediamtx")
    return {
        "JWT stream token": {
            "HS256": (codec("stream", "HS256", True), stream),
            "ES256": (codec("stream", "ES256", True), stream),
        },
        "viewer JWT": {"HS256": (codec("viewer", "HS256"), viewer), "ES256": (codec("viewer", "ES256"), viewer)},
        "MediaMTX token": {"ES256": (codec("mediamtx", "ES256"), mediamtx)},
    }


def tokens() -> None:
    """Each kind's length per algorithm where it rides; sign and verify time per algorithm."""
    from streamauth.logic import keyset
    from streamauth.logic.tokens import new_token_id

    now = int(time.time())
    private = (keyset.generate_key(now - 60),)
    public = tuple(keyset.public_of(k) for k in private)
    short, uuid = BENCH_STREAMS
    print(f"token lengths, for stream id {short!r} / a {len(uuid)}-character UUID (kid: 8 characters)")
    print(
        f"  nginx-rtmp: <id>?token=<token>, limit {NGINX_RTMP_LIMIT} bytes;"
        f" SRT: publish:<id>::<token>, limit {SRT_STREAMID_LIMIT}"
    )
    print(f"  {'kind':17} {'alg':5} {'token':>9}  {'nginx-rtmp':>9}  {'':8} {'SRT streamid':>12}")

    def verdict(length: int, limit: int) -> str:
        return "fits" if length <= limit else "over"

    def row(kind: str, alg: str, made: dict[str, str]) -> None:
        nginx = [len(f"{sid}?token={made[sid]}".encode()) for sid in BENCH_STREAMS]
        srt = [len(f"publish:{sid}::{made[sid]}") for sid in BENCH_STREAMS]
        print(
            f"  {kind:17} {alg:5} {len(made[short]):4}/{len(made[uuid]):<4}  {nginx[0]:4}/{nginx[1]:<4}"
            f"  {verdict(nginx[0], NGINX_RTMP_LIMIT)}/{verdict(nginx[1], NGINX_RTMP_LIMIT)}"
            f"  {srt[0]:4}/{srt[1]:<4} {verdict(srt[0], SRT_STREAMID_LIMIT)}/{verdict(srt[1], SRT_STREAMID_LIMIT)}"
        )

    row("one-time token", "-", {sid: new_token_id(now * 1000) for sid in BENCH_STREAMS})
    by_stream = {sid: _codecs(sid, now, private, public) for sid in BENCH_STREAMS}
    timed: dict[str, tuple[Any, dict[str, Any]]] = {}
    for kind, by_algorithm in by_stream[short].items():
        for alg in by_algorithm:
            made = {sid: by_stream[sid][kind][alg][0].sign(by_stream[sid][kind][alg][1], now) for sid in BENCH_STREAMS}
            row(kind, alg, made)
            timed.setdefault(alg, by_algorithm[alg])
    print(f"sign and verify, {SIGN_RUNS} times each (JWT stream token claims; keys loaded once, as a warm function)")
    for alg, (codec, claims) in timed.items():
        codec.sign(claims, now)  # the first use loads cryptography and the key
        started = time.perf_counter()
        for _ in range(SIGN_RUNS):
            token = codec.sign(claims, now)
        signed = (time.perf_counter() - started) / SIGN_RUNS
        started = time.perf_counter()
        for _ in range(SIGN_RUNS):
            codec.decode(token, now)
        verified = (time.perf_counter() - started) / SIGN_RUNS
        print(f"  {alg}: sign {signed * 1e6:6.1f} us, verify {verified * 1e6:6.1f} us")


def main() -> None:
    if sys.argv[1:] == ["cold-starts"]:  # the hot functions' cold starts and every SnapStart restore only
        first_invocation(list(HOT))
        print()
        restore()
        return
    layer_size()
    print()
    tokens()
    print()
    cold_init()
    print()
    first_invocation()
    print()
    restore()
    print()
    dynamodb_requests()
    print()
    decisions()
    print()
    memory()


if __name__ == "__main__":
    main()
