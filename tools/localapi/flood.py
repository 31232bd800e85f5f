"""`make bench-scale`, part two: a refusal flood on one stream, and what the decision log costs.

Refusals to ONE stream at the rate of 100,000 a minute (the simulated clock advances 0.6 ms per
refusal: 100,000 take the whole minute, SCALE_REFUSALS fewer a part of it at the same rate), the
attacker's usual mix (tokens streamauth never made, forged JWTs, no credential), from ONE
address, each decided and logged as the nginx hook does (`refuse`: the access decision, then
`log_hook_decision`, the very call hooks.answer makes), against moto's DynamoDB with every
request counted per partition key and simulated second. Prints the decision log's writes per
refusal and its peak writes/s on one partition key.

Then, in-process (the DynamoDB round trips of both of the layer's clients, moto's here, taken
out), in ONE run, printed as ratios:
- the refusals' own median with and without the decision-log write;
- the ADMISSIONS' median (viewer JWTs and one-time tokens on the same stream) with and without
  a concurrent refusal flood: a thread refuses the flood's mix on that stream as fast as it can
  while admissions are decided, in blocks taking turns with quiet ones and with a control (the
  same thread doing plain Python work, none of streamauth's), so all see the same machine. An
  admission's time is its own thread's CPU time: one process plays every Lambda environment
  here, and the other thread's share of the GIL is not the admission's (in AWS each request runs
  in an environment of its own); the wall time is printed beside it. Sharing one process and
  two cores costs some CPU by itself (caches): the control measures that, so flood/control is
  what the refusals themselves cost an admission. And whether the flood makes an admission send
  more DynamoDB requests, and which partition keys both use (with the flood's peak requests/s
  on them). Prints; asserts nothing.

    SCALE_REFUSALS=20000 python -m localapi.flood   # fewer refusals (12 s of the flood), the same rate
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from localapi.scale import SECONDS, Meter

if TYPE_CHECKING:
    from streamauth.models.hooks import HookRequest
    from streamauth.service.access import AccessService, Decision

REFUSALS = 100_000
STREAM = "finale"
PAIRS = 1_000  # refusals timed with and without the log; admissions with and without the flood, per kind
BLOCK = 50  # admissions per block; the blocks take turns:
STATES = ("quiet", "flood", "control")  # nothing else runs; the refusal flood; the control's busy thread
FORGED_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0." + "A" * 43


def _credentials(i: int) -> str:
    kind = i % 4
    if kind < 2:
        return f"token={os.urandom(32).hex()[:43]}"  # a token streamauth never made: invalid_token
    if kind == 2:
        return f"token={FORGED_JWT}"  # a JWT whose signature does not verify: invalid_token
    return ""  # nothing: missing_credentials


def _refusal_hook(i: int, address: str = "203.0.113.9", action: str = "publish") -> HookRequest:
    from streamauth.models.hooks import parse_nginx

    query = f"app=live&addr={address}&clientid={i}&call={action}&name={STREAM}&{_credentials(i)}"
    hook = parse_nginx(query.rstrip("&"))
    assert hook is not None
    return hook


def refuse(access: AccessService, hook: HookRequest, now: float, log: bool = True) -> Decision:
    """One refusal as hooks.answer makes it, without the HTTP: the decision, then its log call."""
    from streamauth.service.decisions import log_hook_decision

    decision = access.decide(hook, now)
    assert not decision.allow, decision
    if log:
        log_hook_decision(hook, decision, now)
    return decision


def flood(refusals: int) -> dict[str, Any]:
    from localapi.bench import moto_deployment

    with moto_deployment("flood"):
        from streamauth import aws, clock
        from streamauth.service.access import access_service

        start = 1_800_000_000.0
        simulated = [start]
        meter = Meter(lambda: simulated[0] - start)
        for client in (aws.dynamodb_client(), aws.dynamodb_once_client()):
            client.meta.events.register("provide-client-params.dynamodb.*", meter.record)
        reasons: Counter[str] = Counter()
        with clock.use_clock(lambda: simulated[0]):
            access = access_service()
            for i in range(refusals):
                simulated[0] = start + i * SECONDS / REFUSALS
                reasons[str(refuse(access, _refusal_hook(i), simulated[0]).reason)] += 1
    log_keys = {pk: s for (rw, pk), s in meter.per_key.items() if rw == "write" and pk.startswith("DECISIONS#")}
    log_writes = sum(sum(s.values()) for s in log_keys.values())
    other_writes = sum(sum(s.values()) for (rw, pk), s in meter.per_key.items() if rw == "write") - log_writes
    hottest = max(((pk, max(s.values())) for pk, s in log_keys.items()), key=lambda x: x[1], default=("", 0))
    return {
        "refusals": refusals,
        "reasons": dict(reasons),
        "log_writes_per_refusal": log_writes / refusals,
        "other_writes_per_refusal": other_writes / refusals,
        "requests_per_refusal": sum(meter.requests.values()) / refusals,
        "log_keys": len(log_keys),
        "peak_log_writes_per_key": hottest,
        "peak_per_key": {(rw, pk): max(s.values()) for (rw, pk), s in meter.per_key.items()},
    }


class ThreadMeter:
    """Per thread: the DynamoDB round trips (wall and this thread's CPU, both clients), the
    requests sent and the partition keys they touched, so one thread's time can be taken apart
    while another floods."""

    def __init__(self) -> None:
        from streamauth import aws

        self._local = threading.local()
        for client in (aws.dynamodb_client(), aws.dynamodb_once_client()):
            client.meta.events.register("before-send.dynamodb.*", self._sent)
            client.meta.events.register("after-call.dynamodb.*", self._answered)
            client.meta.events.register("after-call-error.dynamodb.*", self._answered)
            client.meta.events.register("provide-client-params.dynamodb.*", self._touched)

    def _mine(self) -> Any:
        local = self._local
        if not hasattr(local, "wall"):
            local.wall = local.cpu = 0.0
            local.requests = 0
            local.keys = Counter()
        return local

    def _sent(self, **_: Any) -> None:
        mine = self._mine()
        mine.wall -= time.perf_counter()
        mine.cpu -= time.thread_time()
        mine.requests += 1

    def _answered(self, **_: Any) -> None:
        mine = self._mine()
        mine.wall += time.perf_counter()
        mine.cpu += time.thread_time()

    def _touched(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        from localapi.scale import _touched

        for rw, pk, _sk, _units in _touched(model.name, params):
            self._mine().keys[(rw, pk)] += 1

    def measure(self, work: Callable[[], Any]) -> tuple[Any, float, float, int]:
        """`work()`'s result, its in-process wall and CPU seconds (round trips out), its requests."""
        mine = self._mine()
        mine.wall = mine.cpu = 0.0
        sent = mine.requests
        wall, cpu = time.perf_counter(), time.thread_time()
        result = work()
        wall, cpu = time.perf_counter() - wall - mine.wall, time.thread_time() - cpu - mine.cpu
        return result, wall, cpu, mine.requests - sent

    def keys(self) -> Counter[tuple[str, str]]:
        return Counter(self._mine().keys)


def busy(i: int) -> None:
    """The control's work: plain Python that allocates as a refusal does (parse a query, hash,
    build JSON), none of streamauth's code and no DynamoDB."""
    fields = dict(parse_qsl(f"app=live&addr=203.0.113.9&clientid={i}&call=play&name={STREAM}&{_credentials(i)}"))
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
    json.loads(json.dumps({"fields": fields, "digest": digest, "parts": [digest[n : n + 8] for n in range(0, 64, 8)]}))


class Flooder(threading.Thread):
    """While `mode` is set: refuses the flood's mix on STREAM as fast as it can ("flood"), or
    does `busy` work instead ("control"); between two it looks; `idle` says it has stopped."""

    def __init__(self, access: AccessService, meter: ThreadMeter, now: float) -> None:
        super().__init__(daemon=True)
        self.access, self.meter, self.now = access, meter, now
        self.mode: str | None = None
        self.idle, self.done = threading.Event(), threading.Event()
        self.refused = self.busied = 0
        self.keys: Counter[tuple[str, str]] = Counter()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.done.is_set():
                mode = self.mode
                if mode is None:
                    self.idle.set()
                    time.sleep(0.01)
                    continue
                self.idle.clear()
                if mode == "flood":
                    refuse(self.access, _refusal_hook(self.refused, "203.0.113.9", "play"), self.now)
                    self.refused += 1
                else:
                    busy(self.busied)
                    self.busied += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            self.error = exc
        finally:
            self.keys = self.meter.keys()
            self.idle.set()

    def switch(self, mode: str | None) -> None:
        self.mode = None
        self.idle.wait()  # the piece of work under way is done
        self.mode = mode
        while mode is not None and self.idle.is_set():  # until it works again
            time.sleep(0.0005)


def timings() -> dict[str, Any]:
    """Refusals without and with their log write; admissions without and with a concurrent
    refusal flood on their stream (see the module's doc). Median and p99 in-process, requests each."""
    from localapi.bench import moto_deployment

    with moto_deployment("flood-timing"):
        from streamauth import clock
        from streamauth.models.hooks import parse_nginx
        from streamauth.models.tokens import TokenRequest
        from streamauth.models.viewers import ViewerTokenRequest
        from streamauth.service.access import access_service
        from streamauth.service.decisions import log_hook_decision
        from streamauth.service.tokens import token_service
        from streamauth.service.viewers import viewer_service

        now = 1_800_000_000.0
        meter = ThreadMeter()
        cpu: dict[str, list[float]] = defaultdict(list)
        wall: dict[str, list[float]] = defaultdict(list)
        calls: Counter[str] = Counter()
        with clock.use_clock(lambda: now):
            viewers, access, tokens = viewer_service(), access_service(), token_service()
            viewers.set_public(STREAM, True, now)
            # the admissions' credentials, made before anything is timed
            request = TokenRequest(STREAM, int(now) + 3600, "play", None)
            credentials = {
                "viewer JWT": [
                    "token=" + viewers.mint(ViewerTokenRequest(STREAM, f"viewer{i}"), now)
                    for i in range(len(STATES) * PAIRS)
                ],
                "one-time token": [
                    f"token={tokens.issue_one_time(request, now).token_id}" for _ in range(len(STATES) * PAIRS)
                ],
            }

            def note(name: str, measured: tuple[Any, float, float, int]) -> None:
                _, spent_wall, spent_cpu, made = measured
                wall[name].append(spent_wall)
                cpu[name].append(spent_cpu)
                calls[name] += made

            # the refusals' own time, without and with the log write (no flood thread yet)
            for i in range(PAIRS):
                hook = _refusal_hook(i, f"10.0.{i >> 8 & 255}.{i & 255}", "play")
                note("refusal without the log", meter.measure(partial(refuse, access, hook, now, log=False)))
                note("refusal with the log", meter.measure(partial(refuse, access, hook, now)))

            def admit(kind: str, i: int) -> Decision:
                addr = f"10.1.{i >> 8 & 255}.{i & 255}"
                hook = parse_nginx(f"app=live&addr={addr}&clientid={i}&call=play&name={STREAM}&{credentials[kind][i]}")
                assert hook is not None
                decision = access.decide(hook, now)
                assert decision.allow, (kind, decision)
                log_hook_decision(hook, decision, now)  # sampled: one admission in 100 is written
                return decision

            flooder = Flooder(access, meter, now)
            flooder.start()
            admitted = meter.keys()
            for block in range(len(STATES) * PAIRS // BLOCK):
                state = STATES[block % len(STATES)]
                flooder.switch(None if state == "quiet" else state)
                for i in range(block * BLOCK, (block + 1) * BLOCK):
                    for kind in credentials:
                        note(f"{kind} {state}", meter.measure(partial(admit, kind, i)))
            flooder.switch(None)
            flooder.done.set()
            flooder.join()
            if flooder.error is not None:
                raise flooder.error
            admitted = meter.keys() - admitted
    both = sorted({pk for _, pk in admitted} & {pk for _, pk in flooder.keys})
    result: dict[str, Any] = {"flood_refusals": flooder.refused, "busy": flooder.busied, "both_keys": both}
    for name in cpu:
        result[name] = {
            "cpu_ms": statistics.median(cpu[name]) * 1000,
            "wall_ms": statistics.median(wall[name]) * 1000,
            "p99_cpu_ms": sorted(cpu[name])[int(len(cpu[name]) * 0.99)] * 1000,
            "requests": calls[name] / len(cpu[name]),
        }
    return result


def _ratio(before: float, after: float) -> str:
    return f"x{after / before:.2f}" if before else "-"


def main() -> None:
    refusals = int(os.environ.get("SCALE_REFUSALS", REFUSALS))
    print(
        f"\nrefusal flood: {refusals:,} refusals to one stream from one address at {REFUSALS:,} a minute"
        f" ({refusals * SECONDS / REFUSALS:.0f} s of simulated time); forged tokens, forged JWTs, no credential"
    )
    found = flood(refusals)
    pk, peak = found["peak_log_writes_per_key"]
    print(f"  refusals by reason                        {found['reasons']}")
    print(f"  decision-log writes per refusal           {found['log_writes_per_refusal']:.3f}")
    print(f"  other writes per refusal                  {found['other_writes_per_refusal']:.3f}")
    print(f"  DynamoDB requests per refusal (all)       {found['requests_per_refusal']:.3f}")
    print(f"  decision-log partition keys written       {found['log_keys']}")
    print(f"  peak decision-log writes/s on one key     {peak:,}/s ({pk}); a partition takes 1,000/s")

    timed = timings()
    print(f"\nin-process medians, one run ({PAIRS:,} each; round trips to moto's DynamoDB taken out)")
    without, with_log = timed["refusal without the log"], timed["refusal with the log"]
    print(
        f"  refusal, CPU: without the log write {without['cpu_ms']:.3f} ms, with it {with_log['cpu_ms']:.3f} ms"
        f"  {_ratio(without['cpu_ms'], with_log['cpu_ms'])}"
        f"  (DynamoDB requests {without['requests']:.2f} -> {with_log['requests']:.2f})"
    )
    print(
        f"  the admissions, without and with a concurrent refusal flood on their stream ({timed['flood_refusals']:,}"
        f" refusals by the flood thread meanwhile), and with the control (the same thread doing plain Python work,"
        f" none of streamauth's: what sharing one process costs by itself):"
    )
    for kind in ("viewer JWT", "one-time token"):
        quiet, flooded, control = (timed[f"{kind} {state}"] for state in STATES)
        print(
            f"  {kind:15} CPU  {quiet['cpu_ms']:.3f} ms -> flood {flooded['cpu_ms']:.3f} ms"
            f" {_ratio(quiet['cpu_ms'], flooded['cpu_ms'])}, control {control['cpu_ms']:.3f} ms"
            f" {_ratio(quiet['cpu_ms'], control['cpu_ms'])};"
            f" the flood's own: {_ratio(control['cpu_ms'], flooded['cpu_ms'])}"
        )
        print(
            f"  {'':15} p99  {quiet['p99_cpu_ms']:.3f} ms -> flood {flooded['p99_cpu_ms']:.3f} ms,"
            f" control {control['p99_cpu_ms']:.3f} ms; DynamoDB requests {quiet['requests']:.2f} ->"
            f" {flooded['requests']:.2f}"
        )
        print(
            f"  {'':15} wall {quiet['wall_ms']:.3f} ms -> flood {flooded['wall_ms']:.3f} ms"
            f" {_ratio(quiet['wall_ms'], flooded['wall_ms'])} (wall: with the other thread's share of the GIL;"
            f" in AWS each request has its own environment)"
        )
    groups: dict[str, list[str]] = defaultdict(list)
    for key in timed["both_keys"]:
        groups[key.rsplit("#", 1)[0] if key.rsplit("#", 1)[-1].isdigit() else key].append(key)
    peaks = found["peak_per_key"]
    print("  partition keys both the admissions and the flood used (a partition takes 1,000 writes/s, 3,000 reads/s):")
    for prefix, keys in sorted(groups.items()):
        writes = max(peaks.get(("write", k), 0) for k in keys)
        reads = max(peaks.get(("read", k), 0) for k in keys)
        named = f"{prefix}#<shard> ({len(keys)} keys)" if len(keys) > 1 or keys[0] != prefix else prefix
        print(f"    {named:40} the flood's peak on one: {writes:,} writes/s, {reads:,} reads/s")


if __name__ == "__main__":
    main()
