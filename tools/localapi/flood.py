"""`make bench-scale`, part two: a refusal flood on one stream, and what the decision log costs.

Refusals to ONE stream at the rate of 100,000 a minute (the simulated clock advances 0.6 ms per
refusal: 100,000 take the whole minute, SCALE_REFUSALS fewer a part of it at the same rate), the
attacker's usual mix (tokens streamauth never made, forged JWTs, no credential), from ONE
address, each decided and logged as the nginx hook does (access decision, then the decision
log), against moto's DynamoDB with every request counted per partition key and simulated second.
Prints the decision log's writes per refusal and its peak writes/s on one partition key.

Then the admission path with and without the log, in-process (wall time minus the DynamoDB round
trips of both clients, which are moto's here): the same refusals and admissions decided with the
log call and without it, interleaved so both see the same machine. Prints; asserts nothing.

    SCALE_REFUSALS=20000 python -m localapi.flood   # fewer refusals (12 s of the flood), the same rate
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from localapi.scale import SECONDS, Meter

REFUSALS = 100_000
STREAM = "finale"
PAIRS = 1_000  # decisions timed with and without the log, per kind


def _credentials(i: int, forged_jwt: str) -> str:
    kind = i % 4
    if kind < 2:
        return f"token={os.urandom(32).hex()[:43]}"  # a token streamauth never made: invalid_token
    if kind == 2:
        return f"token={forged_jwt}"  # a JWT whose signature does not verify: invalid_token
    return ""  # nothing: missing_credentials


def flood(refusals: int) -> dict[str, Any]:
    from localapi.bench import moto_deployment

    with moto_deployment("flood"):
        from streamauth import aws, clock
        from streamauth.models.hooks import parse_nginx
        from streamauth.service.access import access_service
        from streamauth.service.decisions import log_decision

        start = 1_800_000_000.0
        simulated = [start]
        forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0." + "A" * 43
        meter = Meter(lambda: simulated[0] - start)
        for client in (aws.dynamodb_client(), aws.dynamodb_once_client()):
            client.meta.events.register("provide-client-params.dynamodb.*", meter.record)
        reasons: Counter[str] = Counter()
        with clock.use_clock(lambda: simulated[0]):
            access = access_service()
            for i in range(refusals):
                simulated[0] = start + i * SECONDS / REFUSALS
                now = simulated[0]
                query = f"app=live&addr=203.0.113.9&clientid={i}&call=publish&name={STREAM}&{_credentials(i, forged)}"
                hook = parse_nginx(query.rstrip("&"))
                assert hook is not None
                decision = access.decide(hook, now)  # what hooks.answer does, without the HTTP
                assert not decision.allow
                reasons[str(decision.reason)] += 1
                log_decision(
                    hook.stream_id,
                    hook.action,
                    decision.allow,
                    decision.reason,
                    now,
                    credentials=hook.credentials,
                    server=hook.server,
                    address=hook.client_ip,
                )
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
    }


def _timer() -> tuple[Callable[[], float], Callable[[], None]]:
    """In-process time: the wall clock minus the DynamoDB round trips of both of the layer's clients."""
    from streamauth import aws

    round_trips = [0.0]

    def sent(**_: Any) -> None:
        round_trips[0] -= time.perf_counter()

    def answered(**_: Any) -> None:
        round_trips[0] += time.perf_counter()

    for client in (aws.dynamodb_client(), aws.dynamodb_once_client()):
        client.meta.events.register("before-send.dynamodb.*", sent)
        client.meta.events.register("after-call.dynamodb.*", answered)
        client.meta.events.register("after-call-error.dynamodb.*", answered)

    def reset() -> None:
        round_trips[0] = 0.0

    return (lambda: round_trips[0]), reset


def with_and_without() -> dict[str, dict[str, float]]:
    """Refusals (the flood's mix) and admissions (viewer JWTs on an open stream): each decision
    timed (`access.decide`, what the answer waits for without the log) and then its log call
    (what the answer waits for with it, on top); median and p99 in-process, requests each."""
    from localapi.bench import moto_deployment

    with moto_deployment("flood-timing"):
        from streamauth import aws, clock
        from streamauth.models.hooks import parse_nginx
        from streamauth.models.viewers import ViewerTokenRequest
        from streamauth.service.access import access_service
        from streamauth.service.decisions import log_decision
        from streamauth.service.viewers import viewer_service

        now = 1_800_000_000.0
        requests = [0]

        def count(**_: Any) -> None:
            requests[0] += 1

        for client in (aws.dynamodb_client(), aws.dynamodb_once_client()):
            client.meta.events.register("before-send.dynamodb.*", count)
        io_time, reset = _timer()
        timings: dict[str, list[float]] = defaultdict(list)
        calls: Counter[str] = Counter()
        forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0." + "A" * 43
        with clock.use_clock(lambda: now):
            viewers, access = viewer_service(), access_service()
            viewers.set_public(STREAM, True, now)
            for i in range(PAIRS):
                for kind in ("refusal", "admission"):
                    if kind == "refusal":
                        credential = _credentials(i, forged)
                    else:
                        credential = "token=" + viewers.mint(ViewerTokenRequest(STREAM, f"viewer{i}"), now)
                    query = f"app=live&addr=10.0.{i >> 8 & 255}.{i & 255}&clientid={i}&call=play&name={STREAM}"
                    hook = parse_nginx(f"{query}&{credential}".rstrip("&"))
                    assert hook is not None
                    reset()
                    before = requests[0]
                    began = time.perf_counter()
                    decision = access.decide(hook, now)
                    decided = time.perf_counter() - began - io_time()
                    assert decision.allow is (kind == "admission"), decision
                    deciding = requests[0] - before
                    reset()
                    before = requests[0]
                    began = time.perf_counter()
                    log_decision(
                        hook.stream_id,
                        hook.action,
                        decision.allow,
                        decision.reason,
                        now,
                        credentials=hook.credentials,
                        session_id=decision.session_id,
                        server=hook.server,
                        address=hook.client_ip,
                    )
                    logged = time.perf_counter() - began - io_time()
                    logging = requests[0] - before
                    for name, spent, made in (
                        ("decision (without the log)", decided, deciding),
                        ("the log call", logged, logging),
                        ("decision + log (with it)", decided + logged, deciding + logging),
                    ):
                        timings[f"{kind}: {name}"].append(spent)
                        calls[f"{kind}: {name}"] += made
    result: dict[str, dict[str, float]] = {}
    for name, values in timings.items():
        values.sort()
        result[name] = {
            "median_ms": statistics.median(values) * 1000,
            "p99_ms": values[int(len(values) * 0.99)] * 1000,
            "requests": calls[name] / len(values),
        }
    return result


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
    print(f"\nthe admission path without and with the decision log (in-process, {PAIRS:,} decisions each)")
    for name, row in with_and_without().items():
        print(
            f"  {name:40} median {row['median_ms']:.3f} ms  p99 {row['p99_ms']:.3f} ms"
            f"  DynamoDB requests {row['requests']:.2f}"
        )


if __name__ == "__main__":
    main()
