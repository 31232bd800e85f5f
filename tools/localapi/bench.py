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
import functools
import hashlib
import itertools
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from localapi import bytecode
from localapi import template as tpl

if TYPE_CHECKING:
    from localapi.runtime import LocalApiProcess

BUILD = tpl.ROOT / ".build" / "bench"
RUNS = 9

_BASELINE = """
import time; t0, c0 = time.perf_counter(), time.process_time()
import boto3
boto3.client("dynamodb")
print(time.perf_counter() - t0, time.process_time() - c0)
"""

_FUNCTION = """
import time; t0, c0 = time.perf_counter(), time.process_time()
import importlib, json, sys
module = importlib.import_module({module!r})
handler = getattr(module, {attribute!r})
import boto3; boto3.client("dynamodb")  # the client the first call creates
print(time.perf_counter() - t0, time.process_time() - c0)
"""


# What the first request of a fresh CloudFrontPlaybackFunction pays beyond its import: importing
# cryptography (lazily, in the signing call), loading the RSA key, one signature.
_FIRST_SIGNATURE = """
import time; t0, c0 = time.perf_counter(), time.process_time()
import importlib, os
module = importlib.import_module({module!r})
handler = getattr(module, {attribute!r})
import boto3; boto3.client("dynamodb")
from streamauth.logic.cloudfront import signed_cookies
from streamauth.models.cloudfront import load_private_key
key = load_private_key(os.environ["BENCH_PRIVATE_KEY"])
signed_cookies(key, "KBENCH", "https://d.example/hls/s/*", 2000000000, None, "SHA1")
print(time.perf_counter() - t0, time.process_time() - c0)
"""
CLOUDFRONT = "CloudFrontPlaybackFunction"
FIRST_SIGNATURE = "  + its first signature"  # a row under CLOUDFRONT in the table
CRYPTO_LAYER = "CryptoLayer"

# What a function's first use of cryptography costs beyond its import: one seal and unseal
# (AES-GCM), or one ES256 signature and check, as its first request would.
_FIRST_CRYPTO = """
import time; t0, c0 = time.perf_counter(), time.process_time()
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
print(time.perf_counter() - t0, time.process_time() - c0)
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


# What `make build` ships, mirrored: the layer's and the functions' code with bytecode (`sam build`,
# then localapi.bytecode), so a cold start here compiles nothing, as there. Children never write
# bytecode (PYTHONDONTWRITEBYTECODE: Lambda's code is read-only), whatever this shell's setting.
def _requirements(name: str, requirements: Path, compiled: bool = True) -> Path:
    """`requirements` installed as `sam build` installs them (unpacked, no bytecode), then with
    the build's bytecode unless not `compiled`: .build/bench/<name>-<hash of the file>[-source],
    made once per version of the file."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    target = BUILD / f"{name}-{digest}{'' if compiled else '-source'}"
    if not target.exists():
        scratch = BUILD / f".{target.name}-{os.getpid()}"
        shutil.rmtree(scratch, ignore_errors=True)
        _pip_target(scratch, "--no-compile", "-r", str(requirements))
        if compiled:
            bytecode.compile_tree(scratch, "/opt/python", sys.executable)
        scratch.rename(target)  # whole or not at all: another bench may be reading it
    return target


_artifacts: list[Path] = []


def _artifact(source: Path, name: str, compiled: bool = True) -> Path:
    """A copy of `source` (the code as it is now, never stale) with the build's bytecode unless
    not `compiled`, made once per run in this process's own directory (another bench may be
    running): `name` "layer" is the package in /opt/python, any other a function's /var/task."""
    if not _artifacts:
        scratch = BUILD / f"artifacts-{os.getpid()}"
        shutil.rmtree(scratch, ignore_errors=True)
        atexit.register(shutil.rmtree, scratch, True)
        _artifacts.append(scratch)
    target = _artifacts[0] / ("compiled" if compiled else "source") / name
    if not target.exists():
        shutil.copytree(source, target / source.name if name == "layer" else target, ignore=_NO_CACHES)
        if compiled:
            bytecode.compile_tree(target, "/opt/python" if name == "layer" else "/var/task", sys.executable)
    return target


_NO_CACHES = shutil.ignore_patterns("__pycache__", "*.pyc")


def build_lambda_like_paths(compiled: bool = True) -> tuple[Path, list[Path]]:
    """boto3 as the runtime has it (with its bytecode); the layer as `make build` makes it: its
    requirements plus the package, with bytecode (not `compiled`: as `sam build` alone does)."""
    runtime = BUILD / "runtime"
    _pip_target(runtime, "boto3")
    layer_deps = _requirements("layer-deps", tpl.ROOT / "layers/streamauth/requirements.txt", compiled)
    return runtime, [_artifact(tpl.ROOT / "layers/streamauth/streamauth", "layer", compiled), layer_deps]


def function_deps(function: tpl.Function, compiled: bool = True) -> list[Path]:
    """A function's own requirements.txt, installed as `sam build` installs it beside its code
    (.build/bench/<LogicalId>-deps-<hash>), and its own layers' (.build/bench/<LayerId>-deps-<hash>,
    as /opt/python); none for a function without either."""
    found = []
    requirements = function.code_uri / "requirements.txt"
    if requirements.exists():
        found.append(_requirements(f"{function.logical_id}-deps", requirements, compiled))
    for layer in function.layers:
        layer_requirements = tpl.layer_content(layer) / "requirements.txt"
        if layer_requirements.exists():
            found.append(_requirements(f"{layer}-deps", layer_requirements, compiled))
    return found


def lambda_path(function: tpl.Function, compiled: bool = True) -> list[Path]:
    """What a function's interpreter finds, in Lambda's order: its code (/var/task, with its own
    requirements), its layers (/opt/python), the runtime's boto3; with the build's bytecode
    unless not `compiled`."""
    runtime, layer = build_lambda_like_paths(compiled)
    code = _artifact(function.code_uri, f"functions/{function.code_uri.name}", compiled)
    return [code, *function_deps(function, compiled), *layer, runtime]


def _bench_ec_key() -> str:
    from streamauth.logic.keyset import generate_key

    return generate_key(0).private_key


def _bench_private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode()


def _isolated(code: str, path: list[Path], env: dict[str, str], *options: str) -> str:
    """Run `code` in a fresh interpreter that sees only `path` (-s -S: no user site, no
    site-packages, so not the dev venv) and writes no bytecode; its last line of output."""
    found = _run_isolated(code, path, env, *options)
    return found.stdout.strip().splitlines()[-1]


def _run_isolated(
    code: str, path: list[Path], env: dict[str, str], *options: str, valgrind: bool = False
) -> subprocess.CompletedProcess[str]:
    search = os.pathsep.join(str(p) for p in path)
    counted = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] if valgrind else []
    return subprocess.run(
        [*counted, sys.executable, "-s", "-S", *options, "-c", code],
        env={**env, "PYTHONPATH": search, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )


# -- measuring: interleaved runs, wall clock and CPU time, their spread ---------------------------
#
# The machine `make bench` runs on may be shared: other processes' load only ever adds time, to
# the wall clock mostly (a process waits for a core) and much less to CPU time (its own work, a
# little slower with cold caches). So every case is run in rounds (each round runs every case
# once, so a change in load hits all alike), each run is compared with the baseline of its own
# round (paired ratios), and both clocks are reported with their spread, beside the load average.


@dataclass(frozen=True)
class Timing:
    """One run of one case: seconds of wall clock, and of CPU time (user + system) of the
    case's own process: not the waits on moto's server, a thread of this process."""

    wall: float
    cpu: float


Case = TypeVar("Case")


def interleaved(cases: dict[str, Callable[[int], Case]], runs: int) -> dict[str, list[Case]]:
    """Each case run `runs` times, in rounds: round r runs every case once, with argument r."""
    samples: dict[str, list[Case]] = {name: [] for name in cases}
    for run in range(runs):
        for name, case in cases.items():
            samples[name].append(case(run))
    return samples


def trimmed_mean(values: list[float], share: float = 0.2) -> float:
    """The mean of `values` without the `share` lowest and highest (a run disturbed by other
    load, or an unusually lucky one)."""
    cut = int(len(values) * share)
    kept = sorted(values)[cut : len(values) - cut] or sorted(values)
    return statistics.fmean(kept)


def spread(values: list[float]) -> str:
    """Trimmed mean, then min-median-max and the interquartile range: how far two runs of the
    bench may be compared."""
    low, _, high = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    return (
        f"{trimmed_mean(values):5.2f} ({min(values):4.2f}-{statistics.median(values):4.2f}-{max(values):4.2f},"
        f" IQR {high - low:4.2f})"
    )


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages (2 cores: above 2, processes wait)."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _child_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _spawn(code: str, path: list[Path], env: dict[str, str]) -> tuple[Timing, str]:
    """Interpreter start to the first invocation's answer: its Timing (CPU: of the process and
    anything it waited for), and its last line (the status)."""
    began, cpu = time.perf_counter(), _child_cpu()
    status = _isolated(code, path, env)
    return Timing(time.perf_counter() - began, _child_cpu() - cpu), status


def _against(samples: list[Timing], bases: list[Timing]) -> tuple[list[float], list[float]]:
    """Paired ratios of each run to the base run of its round: wall, CPU."""
    pairs = list(zip(samples, bases, strict=True))
    return [s.wall / b.wall for s, b in pairs], [s.cpu / b.cpu for s, b in pairs]


RATIO_HEADER = "trimmed mean (min-median-max, IQR)"


def _once(code: str, path: list[Path], env: dict[str, str]) -> Timing:
    wall, cpu = _isolated(code, path, env).split()
    return Timing(float(wall), float(cpu))


def cold_init() -> None:
    runtime, _ = build_lambda_like_paths()
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
        path = lambda_path(function)
        cases[name] = (_FUNCTION.format(module=module, attribute=attribute), path)
        if name == CLOUDFRONT:
            cases[FIRST_SIGNATURE] = (_FIRST_SIGNATURE.format(module=module, attribute=attribute), path)
        elif CRYPTO_LAYER in function.layers:
            seal, es256 = name in SEALERS, name not in ("CreateSubscriberFunction", "SubscriberTotpFunction")
            code = _FIRST_CRYPTO.format(module=module, attribute=attribute, seal=seal, es256=es256)
            cases[f"{name}{FIRST_CRYPTO}"] = (code, path)
    env["BENCH_PRIVATE_KEY"] = _bench_private_key() if FIRST_SIGNATURE in cases else ""
    env["BENCH_EC_KEY"] = _bench_ec_key()
    before = load_average()

    def case(_: int, code: str, path: list[Path]) -> Timing:
        return _once(code, path, env)

    runs: dict[str, Callable[[int], Timing]] = {
        name: functools.partial(case, code=code, path=path) for name, (code, path) in cases.items()
    }
    samples = interleaved(runs, RUNS)
    base = samples.pop("baseline")
    print(f"cold init over {RUNS} fresh processes each (import + the DynamoDB client the first call makes);")
    print(f"ratios: each run to the baseline of its round, trimmed mean (load average {before} -> {load_average()})")
    print(f"{'':40} {'wall':>9} {'ratio':>5}  {'CPU':>6} {'ratio':>5}")
    label = "bare import boto3 + DynamoDB client"
    wall, cpu = statistics.median(t.wall for t in base), statistics.median(t.cpu for t in base)
    print(f"{label:40} {wall * 1000:6.0f} ms  1.00  {cpu * 1000:3.0f} ms  1.00")
    for name, values in samples.items():
        walls, cpus = _against(values, base)
        print(
            f"{name:40} {statistics.median(t.wall for t in values) * 1000:6.0f} ms  {trimmed_mean(walls):4.2f}"
            f"  {statistics.median(t.cpu for t in values) * 1000:3.0f} ms  {trimmed_mean(cpus):4.2f}"
        )
    walls_only = {name: [t.wall for t in values] for name, values in samples.items()}
    if FIRST_SIGNATURE in walls_only:
        _cloudfront_cold_start(walls_only)
    _crypto_cold_start(walls_only)


# The Lambda context object each benchmark script hands its handler (one, for every script).
_CONTEXT = """class Context:
    function_name = {name!r}
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + {name!r}
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/" + {name!r}
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 3000
"""


# A full cold start: interpreter start to the end of the first invocation on the function's
# sample event (os._exit right after: Lambda keeps the environment, no teardown is paid).
_FIRST_INVOCATION = """
import importlib, json, os, sys
module = importlib.import_module({module!r})
handler = getattr(module, {attribute!r})
<context>
event = json.loads(os.environ["BENCH_EVENT"])
try:
    reply = handler(event, Context())
except Exception as exc:  # the authorizer refuses by raising "Unauthorized"
    reply = {{"statusCode": type(exc).__name__[:6]}}
sys.stdout.write(str(reply.get("statusCode") if isinstance(reply, dict) else type(reply).__name__) + "\\n")
sys.stdout.flush()
os._exit(0)
""".replace("<context>\n", _CONTEXT)
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
FIRST_RUNS = 15
SOURCE_ONLY = "  without bytecode (sam build alone)"  # a row under each hot function


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
    """Cold start as Lambda bills it, per function (`names`: these only), against a local
    DynamoDB (moto's server); each hot function also as `sam build` alone ships it (no bytecode)."""
    runtime, _ = build_lambda_like_paths()
    backend = _bench_backend()
    events = _sample_events(backend, 2 * FIRST_RUNS)
    functions = tpl.functions()
    any_function = next(iter(functions.values()))
    floor_env = {k: v for k, v in backend.environment(any_function).items() if k != "PYTHONPATH"}
    floor_env["BENCH_TABLE"] = next(iter(backend.table_names.values()))
    cases: dict[str, Callable[[int], tuple[Timing, str]]] = {"floor": lambda _: _spawn(_FLOOR, [runtime], floor_env)}
    for name, function in sorted(functions.items()):
        if names is not None and name not in names:
            continue
        module, _, attribute = function.handler.rpartition(".")
        code = _FIRST_INVOCATION.format(module=module, attribute=attribute, name=name)
        env = {k: v for k, v in backend.environment(function).items() if k != "PYTHONPATH"}

        def case(run: int, code: str = code, name: str = name, env: dict[str, str] = env, compiled: bool = True) -> Any:
            event = events[name][run if compiled else FIRST_RUNS + run]
            return _spawn(code, lambda_path(functions[name], compiled), {**env, "BENCH_EVENT": json.dumps(event)})

        cases[name] = case
        if name in HOT:
            cases[name + SOURCE_ONLY] = functools.partial(case, compiled=False)
    before = load_average()
    samples = interleaved(cases, FIRST_RUNS)
    floor = [timing for timing, _ in samples.pop("floor")]
    print(f"full cold start over {FIRST_RUNS} fresh interpreters each: interpreter start to the end of the first")
    print("invocation on the function's sample event, against moto's DynamoDB and Secrets Manager on loopback,")
    print("code with its bytecode as `make build` ships it; ratio: each run to the floor of its round,")
    print(f"{RATIO_HEADER}; CPU: the function's process only (load average {before} -> {load_average()})")
    print(f"{'':44} {'status':>6} {'wall':>7}  {'wall / floor':35} {'CPU':>6}  {'CPU / floor'}")
    floor_label = "floor: boto3 + client + one GetItem"
    wall, cpu = statistics.median(t.wall for t in floor), statistics.median(t.cpu for t in floor)
    print(f"{floor_label:44} {'200':>6} {wall * 1000:4.0f} ms  {'1':35} {cpu * 1000:3.0f} ms  1")
    for name, found in samples.items():
        timings = [timing for timing, _ in found]
        walls, cpus = _against(timings, floor)
        label = SOURCE_ONLY if name.endswith(SOURCE_ONLY) else name + (" *" if name in HOT else "")
        print(
            f"{label:44} {found[-1][1]:>6} {statistics.median(t.wall for t in timings) * 1000:4.0f} ms"
            f"  {spread(walls):35} {statistics.median(t.cpu for t in timings) * 1000:3.0f} ms  {spread(cpus)}"
        )
    print("  * the functions a crowd's first requests land on (with SnapStart, see the restore table); goal:")
    print(f"    <= {COLD_GOAL} x the floor, or the import profile below (`python -m localapi.bench imports`)")


COLD_GOAL = 1.15


# A SnapStart restore, emulated: the function's init and its before-snapshot hook in one process,
# then fork (the snapshot: the child starts from the parent's memory as it was), and in the child
# the after-restore hook, the first invocation, then warm invocations, each phase timed on both
# clocks (CPU: process_time, every thread of the child) with the memory pages it first touched
# (minor faults: a fork copies a page on its first write, as a restore pages it in from the
# snapshot). `random`'s reseed at fork (os.register_at_fork) is undone in the child: a restore
# copies memory as it was, so only the after-restore hook may reseed it.
_RESTORE = """
import time; t0 = time.perf_counter()
import importlib, json, os, random, resource, statistics, sys
module = importlib.import_module({module!r})
handler = getattr(module, {attribute!r})
from streamauth import priming
priming.before_snapshot()
init = time.perf_counter() - t0
<context>
def call(event):
    try:
        reply = handler(event, Context())
    except Exception as exc:
        return type(exc).__name__[:6]
    return str(reply.get("statusCode") if isinstance(reply, dict) else type(reply).__name__)
def timed(work):
    faults, cpu, began = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.process_time(), time.perf_counter()
    done = work()
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    return [wall, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults], done
events = json.loads(os.environ["BENCH_EVENTS"])
snapshot = random.getstate()
ballast = bytearray(b"1") * (256 * 4096)  # pages the child writes last: what one page costs
read, write = os.pipe()
sys.stdout.flush()
if os.fork() == 0:
    random.setstate(snapshot)
    before = set(sys.modules)
    hook, _ = timed(priming.after_restore)
    first, status = timed(lambda: call(events[0]))
    imported = sorted(set(sys.modules) - before)
    warm = [timed(lambda e=event: call(e))[0] for event in events[1:]]
    warm = [statistics.median(phase[i] for phase in warm) for i in range(3)]
    def touch():
        for at in range(0, len(ballast), 4096):
            ballast[at] = 50
    page = timed(touch)[0]
    page = page[1] / max(page[2], 1)
    os.write(write, json.dumps([init, hook, first, warm, page, status, imported]).encode())
    os._exit(0)
os.close(write)
chunks = []
while chunk := os.read(read, 65536):
    chunks.append(chunk)
os.wait()
sys.stdout.write(b"".join(chunks).decode() + "\\n")
sys.stdout.flush()
os._exit(0)
""".replace("<context>\n", _CONTEXT)
RESTORE_RUNS = 11  # more grow the table each warm request writes, and moto slows with it (docs/performance.md)
RESTORE_WARM = 5  # warm invocations after the first, in the same restored process: their median is "warm"
RESTORE_GOAL = 1.3


def snapstart_functions() -> list[str]:
    resources = tpl.load()["Resources"]
    return sorted(name for name in tpl.functions() if "SnapStart" in resources[name]["Properties"])


@dataclass(frozen=True)
class Restore:
    """One emulated restore: its phases ([wall s, CPU s, minor faults]), the CPU seconds a page's
    first write after the fork took, and what it answered."""

    init: float
    hook: list[float]
    first: list[float]
    warm: list[float]
    page: float
    status: str
    imported: list[str]

    def ratios(self, clock: int) -> tuple[float, float]:
        """(after-restore hook + first invocation) / warm, and first invocation / warm."""
        return (self.hook[clock] + self.first[clock]) / self.warm[clock], self.first[clock] / self.warm[clock]


def restore(runs: int = RESTORE_RUNS, names: list[str] | None = None) -> dict[str, list[Restore]]:
    """Each SnapStart function restored `runs` times (interleaved): the after-restore hook and
    the first invocation, against a warm invocation of the same restored process."""
    names = names or snapstart_functions()
    per_run = 1 + RESTORE_WARM
    backend = _bench_backend()
    events = _sample_events(backend, runs * per_run)
    functions = tpl.functions()

    def case(run: int, name: str) -> Restore:
        function = functions[name]
        module, _, attribute = function.handler.rpartition(".")
        env = {k: v for k, v in backend.environment(function).items() if k != "PYTHONPATH"}
        env["BENCH_EVENTS"] = json.dumps(events[name][run * per_run : (run + 1) * per_run])
        code = _RESTORE.format(module=module, attribute=attribute, name=name)
        return Restore(*json.loads(_isolated(code, lambda_path(function), env)))

    before = load_average()
    samples = interleaved({name: functools.partial(case, name=name) for name in names}, runs)
    print(f"SnapStart restore, emulated ({runs} restores each, interleaved): init + before-snapshot hook in one")
    print("process, fork (the snapshot), then the after-restore hook, the first invocation, and the median of")
    print(f"{RESTORE_WARM} warm invocations in the same restored process. A restore's response comes after both the")
    print(f"hook and the first invocation: goal (hook + first) <= {RESTORE_GOAL} x warm; first alone beside it.")
    print(f"Medians in ms; ratios per restore, {RATIO_HEADER} (load average {before} -> {load_average()})")
    for clock, label in ((0, "wall"), (1, "CPU")):
        print(
            f"{label:28} {'status':>6} {'hook':>6} {'first':>6} {'warm':>6}  {'(hook + first) / warm':35} first / warm"
        )
        for name, found in samples.items():
            ms = [
                statistics.median(getattr(r, phase)[clock] for r in found) * 1000 for phase in ("hook", "first", "warm")
            ]
            both, first = zip(*(r.ratios(clock) for r in found), strict=True)
            print(
                f"{name:28} {found[-1].status:>6} {ms[0]:6.1f} {ms[1]:6.1f} {ms[2]:6.1f}"
                f"  {spread(list(both)):35} {spread(list(first))}"
            )
    page = statistics.median(r.page for found in samples.values() for r in found)
    print("memory pages first written after the fork (minor faults, medians), and the CPU time the first")
    print(f"invocation takes beyond a warm one, against what its pages cost here ({page * 1e6:.1f} us each, measured)")
    print(f"{'':28} {'hook':>6} {'first':>6} {'warm':>6}  {'first - warm: CPU':>18} {'its pages':>10}")
    for name, found in samples.items():
        faults = [statistics.median(getattr(r, phase)[2] for r in found) for phase in ("hook", "first", "warm")]
        extra = statistics.median(r.first[1] - r.warm[1] for r in found)
        pages = statistics.median((r.first[2] - r.warm[2]) * r.page for r in found)
        print(
            f"{name:28} {faults[0]:6.0f} {faults[1]:6.0f} {faults[2]:6.0f}"
            f"  {extra * 1000:15.1f} ms {pages * 1000:7.1f} ms"
        )
    left = {name: found[-1].imported for name, found in samples.items() if found[-1].imported}
    if left:
        print("  still imported by a first invocation after the restore:")
        for name, modules in left.items():
            print(f"    {name}: {', '.join(modules)}")
    return samples


# -- reading a secret: streamauth's key ring, or the Parameters and Secrets extension ---------------
#
# AWS's extension is a local HTTP cache in front of Secrets Manager (localapi.extension serves
# its interface here, in its own process, as the extension is). What it would change for the
# hooks' every-request secret: a warm request reads a cache through a loopback request instead
# of from memory; a request after a restore finds its cache as empty as the ring (a secret is
# never captured in a snapshot), so it waits for the extension's GetSecretValue plus that hop.
SECRET_READS = 41


@contextlib.contextmanager
def _extension(env: dict[str, str], ttl: float) -> Iterator[str]:
    """localapi.extension serving in its own process, in front of `env`'s Secrets Manager, with
    a cache of `ttl` seconds; yields its base URL."""
    server = subprocess.Popen(
        [sys.executable, "-m", "localapi.extension", env["AWS_ENDPOINT_URL_SECRETS_MANAGER"], str(ttl)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        yield f"http://127.0.0.1:{int(server.stdout.readline())}"
    finally:
        server.kill()
        server.wait()


def _median_ms(read: Callable[[], object], runs: int = SECRET_READS) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        read()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def secret_reads() -> None:
    """The hook secret read four ways: what a warm request and a request after a restore wait
    for, with streamauth's key ring (what ships) and through the extension."""
    import urllib.parse
    import urllib.request

    from localapi import extension
    from streamauth import aws, settings
    from streamauth.keys import _fetch_secret_string, get_keys

    backend = _bench_backend()
    env = backend.environment(tpl.functions()["NginxHookFunction"])
    arn = env[settings.SECRETS["hook"].env]
    saved = dict(os.environ)
    os.environ.update(env)
    settings.reset_caches()
    aws.reset_clients()
    try:

        def through(url: str) -> Callable[[], object]:
            request = urllib.request.Request(  # noqa: S310 - http on loopback, the URL made here
                f"{url}{extension.PATH}?secretId={urllib.parse.quote(arn)}",
                headers={extension.TOKEN_HEADER: env["AWS_SESSION_TOKEN"]},
            )
            return lambda: json.loads(urllib.request.urlopen(request, timeout=5).read())["SecretString"]  # noqa: S310

        get_keys().hook_secret  # noqa: B018 - loaded once: the ring now holds it
        rows = [
            ("streamauth's key ring, held (a warm request)", _median_ms(lambda: get_keys().hook_secret)),
            (
                "GetSecretValue, the function's own client (after a restore)",
                _median_ms(lambda: _fetch_secret_string(arn)),
            ),
        ]
        with _extension(env, 300) as url:
            read = through(url)
            read()
            rows.insert(1, ("the extension, held in its cache (a warm request)", _median_ms(read)))
        with _extension(env, 0) as url:
            rows.append(("the extension, not held (after a restore: its cache is empty)", _median_ms(through(url))))
    finally:
        os.environ.clear()
        os.environ.update(saved)
        settings.reset_caches()
        aws.reset_clients()
    print(f"Reading the hook secret (every media-server hook request reads it), median of {SECRET_READS} reads in ms,")
    print(f"against Secrets Manager on loopback (load average {load_average()}); the extension's interface served by")
    print("localapi.extension, in its own process as the extension is:")
    for label, ms in rows:
        print(f"  {label:64} {ms:8.4f}")


IMPORT_RUNS = 3
IMPORT_TOP = 15


def _import_times(code: str, path: list[Path], env: dict[str, str]) -> dict[str, tuple[float, float]]:
    """{module: (seconds of its own, seconds with what it imported)}, as `python -X importtime`
    reports them for one run of `code`."""
    found: dict[str, tuple[float, float]] = {}
    for line in _run_isolated(code, path, env, "-X", "importtime").stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            own, total, name = line.removeprefix("import time:").split("|")
            found[name.strip()] = (int(own) / 1e6, int(total) / 1e6)
    return found


def _fastest(runs: list[dict[str, tuple[float, float]]]) -> dict[str, tuple[float, float]]:
    """Per module, its fastest run (load only ever adds time); modules every run imported."""
    common = set.intersection(*(set(run) for run in runs))
    return {m: min(run[m] for run in runs) for m in common}


def imports(names: tuple[str, ...] = HOT) -> None:
    """Per hot function, what its full cold start imports beyond the floor's (`-X importtime`, with
    bytecode as built; each module's fastest of IMPORT_RUNS runs): the total of their own times,
    by package, and the slowest modules."""
    runtime, _ = build_lambda_like_paths()
    backend = _bench_backend()
    events = _sample_events(backend, IMPORT_RUNS)
    functions = tpl.functions()
    floor_env = {k: v for k, v in backend.environment(functions[names[0]]).items() if k != "PYTHONPATH"}
    floor_env["BENCH_TABLE"] = next(iter(backend.table_names.values()))
    cases: dict[str, Callable[[int], dict[str, tuple[float, float]]]] = {
        "floor": lambda _: _import_times(_FLOOR, [runtime], floor_env)
    }
    for name in names:
        function = functions[name]
        module, _, attribute = function.handler.rpartition(".")
        code = _FIRST_INVOCATION.format(module=module, attribute=attribute, name=name)
        env = {k: v for k, v in backend.environment(function).items() if k != "PYTHONPATH"}

        def case(run: int, code: str = code, name: str = name, env: dict[str, str] = env) -> Any:
            event = json.dumps(events[name][run])
            return _import_times(code, lambda_path(functions[name]), {**env, "BENCH_EVENT": event})

        cases[name] = case
    before = load_average()
    samples = {name: _fastest(runs) for name, runs in interleaved(cases, IMPORT_RUNS).items()}
    floor = samples.pop("floor")
    print("imports of a full cold start beyond the floor's (python -X importtime, code with its bytecode; each")
    print(f"module's fastest of {IMPORT_RUNS} runs; own time: without the modules it imports; load average")
    print(
        f"{before} -> {load_average()}). Floor: {len(floor)} modules, {sum(o for o, _ in floor.values()) * 1000:.0f} ms"
    )
    for name, found in samples.items():
        beyond = {m: times for m, times in found.items() if m not in floor}
        packages: dict[str, float] = {}
        for module, (own, _) in beyond.items():
            parts = module.split(".")
            package = ".".join(parts[:2]) if parts[0] == "streamauth" else parts[0]
            packages[package] = packages.get(package, 0.0) + own
        total = sum(own for own, _ in beyond.values())
        print(f"{name}: {len(beyond)} modules beyond the floor's, {total * 1000:.0f} ms of their own")
        listed = sorted(packages.items(), key=lambda item: -item[1])
        print("  by package: " + ", ".join(f"{package} {own * 1000:.1f}" for package, own in listed if own >= 0.0005))
        print(f"  {'slowest modules':58} {'own':>6} {'with its imports':>16}")
        for module, (own, total) in sorted(beyond.items(), key=lambda item: -item[1][0])[:IMPORT_TOP]:
            print(f"  {module:58} {own * 1000:4.1f} ms {total * 1000:13.1f} ms")


# -- instructions: the same work counted, not timed ---------------------------------------------
#
# valgrind's callgrind counts the instructions a process executes (its own, in user space: not
# the kernel's page faults, not moto's server): the same for the same work whatever else runs
# on the machine (two runs agree to 1 in 10^5), so these ratios are the steady ones; wall and
# CPU time above say what they cost. A restore's phases are counted as differences of runs that
# stop after each phase (without fork: a restore's memory paging is in the CPU table above).
_STAGES = """
import importlib, json, os
module = importlib.import_module({module!r})
handler = getattr(module, {attribute!r})
from streamauth import priming
<context>
events = json.loads(os.environ["BENCH_EVENTS"])
priming.before_snapshot()
if {stages} > 0:
    priming.after_restore()
for event in events[: max({stages} - 1, 0)]:
    handler(event, Context())
os._exit(0)
""".replace("<context>\n", _CONTEXT)
STAGES = ("before-snapshot hook", "after-restore hook", "first", "warm")


def _instructions(code: str, path: list[Path], env: dict[str, str]) -> int:
    """Instructions the interpreter running `code` executes, counted by callgrind."""
    found = _run_isolated(code, path, {**env, "PYTHONHASHSEED": "0"}, valgrind=True)
    counted = re.search(r"Collected : (\d+)", found.stderr)
    if counted is None:
        raise RuntimeError(f"callgrind counted nothing: {found.stderr[-500:]}")
    return int(counted.group(1))


def instructions(names: tuple[str, ...] = HOT) -> None:
    """The hot functions' full cold starts against the floor, and their restores' phases, in
    instructions (one run each: counts repeat)."""
    if shutil.which("valgrind") is None:
        print("instructions: valgrind is not installed (apt-get install valgrind): skipped")
        return
    runtime, _ = build_lambda_like_paths()
    backend = _bench_backend()
    events = _sample_events(backend, 1 + len(STAGES) * 2)
    functions = tpl.functions()
    floor_env = {k: v for k, v in backend.environment(functions[names[0]]).items() if k != "PYTHONPATH"}
    floor_env["BENCH_TABLE"] = next(iter(backend.table_names.values()))
    floor = _instructions(_FLOOR, [runtime], floor_env)
    print("instructions (valgrind's callgrind; the same count for the same work, whatever the load), millions:")
    print(f"full cold start {'':28} {'':>8} {'/ floor':>7}")
    print(f"{'floor: boto3 + client + one GetItem':44} {floor / 1e6:8.0f} {1:7.2f}")
    phases: dict[str, list[int]] = {}
    for name in names:
        function = functions[name]
        module, _, attribute = function.handler.rpartition(".")
        env = {k: v for k, v in backend.environment(function).items() if k != "PYTHONPATH"}
        code = _FIRST_INVOCATION.format(module=module, attribute=attribute, name=name)
        built = _instructions(code, lambda_path(function), {**env, "BENCH_EVENT": json.dumps(events[name][0])})
        print(f"{name:44} {built / 1e6:8.0f} {built / floor:7.2f}")
        stages = _STAGES.format(module=module, attribute=attribute, name=name, stages="{stages}")
        counts = []
        for stage in range(len(STAGES)):
            used = events[name][1 + 2 * stage : 3 + 2 * stage]
            code = stages.format(stages=stage)
            counts.append(_instructions(code, lambda_path(function), {**env, "BENCH_EVENTS": json.dumps(used)}))
        phases[name] = [later - earlier for earlier, later in itertools.pairwise(counts)]
    heading = f"{'hook':>8} {'first':>7} {'warm':>7}  (hook + first) / warm  first / warm"
    print(f"{'restore, by phase (no fork)':44} {heading}")
    for name, (hook, first, warm) in phases.items():
        print(
            f"{name:44} {hook / 1e6:8.1f} {first / 1e6:7.1f} {warm / 1e6:7.1f}"
            f"  {(hook + first) / warm:21.2f}  {first / warm:12.2f}"
        )


def _crypto_cold_start(samples: dict[str, list[float]]) -> None:
    """Each function with the crypto layer: its first request with cryptography (import, first
    seal or ES256 signature and check) against its import alone, which never imports it."""
    rows = [(n.removesuffix(FIRST_CRYPTO), n) for n in samples if n.endswith(FIRST_CRYPTO)]
    if not rows:
        return
    size = _size(_requirements(f"{CRYPTO_LAYER}-deps", tpl.layer_content(CRYPTO_LAYER) / "requirements.txt"))
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
    request = CreateSubscriberRequest.parse("bench", {"subscriberId": "bobby", "type": "publish", "b32Secret": secret})
    service = subscriber_service()
    service.create(request, now)
    code = totp.totp(totp.b32_key(secret), now, 60)
    count("verify subscriber code (wrong)", lambda: service.verify("bench", "bobby", "000000", "publish", now, None))
    count("verify subscriber code (accepted)", lambda: service.verify("bench", "bobby", code, "publish", now, None))
    count("verify subscriber code (replayed)", lambda: service.verify("bench", "bobby", code, "publish", now, None))
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


def _local_api(scratch: Path) -> LocalApiProcess:
    """`python -m localapi run` of its own (output and IAM records in `scratch`), so the memory
    of exactly its processes can be measured."""
    from localapi import iam
    from localapi.runtime import LocalApiProcess

    return LocalApiProcess(scratch / "run.log", {iam.RECORD_ENV: str(scratch / "iam")})


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
        api = _local_api(Path(scratch))
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
        api = _local_api(Path(scratch))
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


def _size(root: Path, bytecode: bool = False) -> int:
    """Bytes of the files under `root`: its source and data, or (`bytecode`) its pycs only."""
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file() and ("__pycache__" in f.parts) == bytecode)


def layer_size() -> None:
    """The layer's unzipped size as `sam build` makes it: its requirements (pip, as SAM runs it)
    plus the package; and the bytecode `make build` adds to it (localapi.bytecode)."""
    _, (package_root, deps) = build_lambda_like_paths()
    package, dependencies = _size(package_root / "streamauth"), _size(deps)
    compiled = _size(package_root, bytecode=True) + _size(deps, bytecode=True)
    total = (package + dependencies) / 1e6
    print(
        f"layer, unzipped: {total:.2f} MB (goal <= {LAYER_GOAL_MB:.0f} MB): streamauth {package / 1e6:.2f} MB,"
        f" requirements {dependencies / 1e6:.2f} MB; with the bytecode `make build` adds: {compiled / 1e6:.2f} MB more"
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
    if sys.argv[1:] == ["secrets"]:  # the hook secret read four ways only
        secret_reads()
        return
    if sys.argv[1:] == ["imports"]:  # the hot functions' import profiles only
        imports()
        return
    if sys.argv[1:] == ["instructions"]:  # the hot functions' cold starts and restores, counted
        instructions()
        return
    layer_size()
    print()
    tokens()
    print()
    cold_init()
    print()
    first_invocation()
    print()
    imports()
    print()
    restore()
    print()
    secret_reads()
    print()
    instructions()
    print()
    dynamodb_requests()
    print()
    decisions()
    print()
    memory()


if __name__ == "__main__":
    main()
