"""`make bench-scale`: a flash crowd through the real service code. Prints; asserts nothing.

100,000 admissions to ONE stream within 60 s of simulated time (the clock is a parameter: it
advances 0.6 ms per admission), a realistic mix of kinds, against moto's DynamoDB with every
request counted per partition key and simulated second. Printed side by side with the naive
design (one counter write per viewer, as streamauth did before): peak requests/s per key
(reads, writes), DynamoDB requests and Lambda GB-s per admission, and the cost per million
admissions from AWS's published prices.

A third run, the policy mix, puts the stateful access policies on the stream (README "Access
policies": `maxSessions`, `bindOnFirstUse`, `sharing`) and gives each JWT player a JWT of its own
(one JWT shared by a tenth of the crowd would be sharing): the same 100,000 admissions, writes per
admission and the peak writes/s per partition key with them. (moto answers a Query by sorting the
whole table: `_queries_read_one_partition` makes it read the partition, as DynamoDB does, or the
policy mix's slot Queries made the run quadratic.)

One process plays every Lambda environment, so the 5 s stream-state cache is shared: in AWS
each warm environment reads the stream's state once per 5 s, i.e. (environments / 5) reads/s
on that key (printed with 200 environments).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from localapi import template as tpl

ADMISSIONS = 100_000
SECONDS = 60
STREAM = "finale"
# The mix: most viewers get a public viewer JWT and play it; some players hold a JWT stream
# token, a few a one-time token; a few are subscribers with their TOTP code.
MIX = (("viewer", 0.80), ("jwt", 0.10), ("one-time", 0.05), ("subscriber", 0.05))
ENVIRONMENTS = 200  # warm Lambda environments during the crowd (for the shared-cache correction)
# the policy mix's stream policy: every stateful field on, at thresholds a crowd of honest viewers
# (one credential each, from one address each) never reaches
POLICY = {"maxSessions": 2, "bindOnFirstUse": 2, "sharing": {"addresses": 3, "windowSeconds": 600, "action": "refuse"}}

# AWS's published prices, us-east-1 (checked 2026-12): API Gateway REST $3.50 and HTTP API
# $1.00 per million requests (first tiers); Lambda arm64 $0.0000133334 per GB-s and $0.20 per
# million requests; DynamoDB on-demand $0.625 per million write request units and $0.125 per
# million read request units (since the November 2024 price cut). A transactional write or read
# costs two units per item; a strongly consistent read of an item under 4 KB is one unit.
PRICE = {
    "rest": 3.50,
    "http": 1.00,
    "lambda_gbs": 0.0000133334,
    "lambda_request": 0.20,
    "wru": 0.625,
    "rru": 0.125,
}
MEMORY_GB = 0.125  # 128 MB functions
DYNAMODB_LATENCY_S = 0.006  # a round trip inside one region, for the GB-s estimate

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


@dataclass
class Meter:
    """Every DynamoDB request, by partition key and simulated second, and by kind of admission."""

    now: Callable[[], float]
    kind: str = ""
    per_key: dict[tuple[str, str], Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    # transactions per item and second: two transactions on one item at once conflict
    per_item_tx: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    requests: Counter[str] = field(default_factory=Counter)
    writes: Counter[str] = field(default_factory=Counter)
    units: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    kind_keys: dict[str, Counter[tuple[str, str]]] = field(default_factory=lambda: defaultdict(Counter))

    def record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.requests[self.kind] += 1
        self.writes[self.kind] += model.name in WRITES
        second = int(self.now())
        for rw, pk, sk, units in _touched(model.name, params):
            self.per_key[(rw, pk)][second] += 1
            self.units[self.kind][rw] += units
            self.kind_keys[self.kind][(rw, pk)] += 1
            if model.name == "TransactWriteItems":
                self.per_item_tx[f"{pk} / {sk}"][second] += 1

    def peaks(self) -> dict[str, tuple[str, int]]:
        best: dict[str, tuple[str, int]] = {"read": ("", 0), "write": ("", 0)}
        for (rw, pk), seconds in self.per_key.items():
            peak = max(seconds.values())
            if peak > best[rw][1]:
                best[rw] = (pk, peak)
        tx = max(
            ((item, max(seconds.values())) for item, seconds in self.per_item_tx.items()),
            key=lambda x: x[1],
            default=("", 0),
        )
        best["transactions on one item"] = tx
        return best


def _touched(operation: str, params: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    """(read|write, pk, sk, request units) for each item a request touches (items under 1 KB)."""
    if operation == "TransactWriteItems":
        found = []
        for entry in params.get("TransactItems", []):
            ((_, spec),) = entry.items()
            key = spec.get("Item") or spec.get("Key")
            found.append(("write", key["pk"]["S"], key["sk"]["S"], 2))  # ConditionCheck included
        return found
    if operation == "BatchGetItem":
        return [
            ("read", key["pk"]["S"], key["sk"]["S"], 1)
            for table in params["RequestItems"].values()
            for key in table["Keys"]
        ]
    if operation == "Query":
        return [("read", params["ExpressionAttributeValues"][":pk"]["S"], "*", 1)]
    key = params.get("Item") or params.get("Key")
    if key is None:
        return []
    rw = "write" if operation in WRITES else "read"
    return [(rw, key["pk"]["S"], key["sk"]["S"], 1)]


def _admissions(count: int) -> list[str]:
    kinds: list[str] = []
    for kind, share in MIX:
        kinds += [kind] * round(count * share)
    # interleave the kinds over the minute, as a crowd arrives (7919 is prime: a permutation)
    return [kinds[(i * 7919) % len(kinds)] for i in range(len(kinds))]


def _queries_read_one_partition() -> None:
    """moto answers a Query by sorting every item of the table (`Table.all_items`) and then
    keeping the partition's: a cost that grows with the table, so a crowd whose admissions query
    (the policy mix: a capped credential's slot Query) slowed as its sessions accumulated (3,000
    admissions took 20 minutes, 100,000 would not end). DynamoDB reads only the partition, in
    sort-key order: here too, the partition's items handed to moto's own query (which still
    checks key, range condition, order and pages). For a `begins_with`, only the items it
    matches (one block in sort order) and the block's neighbours, so that moto pages exactly as
    it did over the whole partition (a page that ends with the last match still says where)."""
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "one_partition", False):
        return
    query = Table.query

    def one_partition(
        self: Any, hash_key: Any, range_comparison: str | None, range_objs: list[Any], *args: Any, **kwargs: Any
    ) -> Any:
        index_name = args[4] if len(args) > 4 else kwargs.get("index_name")
        if index_name or hash_key is None or not self.range_key_attr:
            return query(self, hash_key, range_comparison, range_objs, *args, **kwargs)
        items = list(self.items[hash_key].values()) if hash_key in self.items else []
        if range_comparison == "BEGINS_WITH" and range_objs and isinstance(range_objs[0].value, str):
            items = _begins_with(items, range_objs[0].value)
        self.all_items = lambda: items  # this call's candidates (moto's lock serialises requests)
        try:
            return query(self, hash_key, range_comparison, range_objs, *args, **kwargs)
        finally:
            del self.all_items

    one_partition.one_partition = True  # type: ignore[attr-defined]
    Table.query = one_partition  # type: ignore[method-assign]


def _begins_with(items: list[Any], prefix: str) -> list[Any]:
    """The items whose (string) sort key starts with `prefix`, with the last item before them
    and the first after them in sort order (strings with a prefix are one block of that order)."""
    matched: list[Any] = []
    before: Any = None
    after: Any = None
    for item in items:
        key = item.range_key.value
        if key.startswith(prefix):
            matched.append(item)
        elif key < prefix:
            before = item if before is None or key > before.range_key.value else before
        elif after is None or key < after.range_key.value:
            after = item
    return [item for item in (before, *matched, after) if item is not None]


def run(naive: bool, admissions: int = ADMISSIONS, policies: bool = False) -> dict[str, Any]:
    """The crowd, against a fresh moto; `naive` adds the old design's counter write per viewer;
    `policies` puts the stateful access policies on the stream (POLICY)."""
    from localapi.bench import moto_deployment

    name = "naive" if naive else "policies" if policies else "streamauth"
    began = time.monotonic()
    with moto_deployment(f"scale-{name}"):
        from streamauth import aws, clock

        _queries_read_one_partition()

        start = 1_800_000_000.0
        simulated = [start - 120]
        with clock.use_clock(lambda: simulated[0]):
            kinds = _admissions(admissions)
            credentials = _prepare(simulated[0], Counter(kinds), policies)
            meter = Meter(lambda: (simulated[0] - start) * ADMISSIONS / admissions)
            aws.dynamodb_client().meta.events.register("provide-client-params.dynamodb.*", meter.record)
            timings, own = _crowd(kinds, credentials, simulated, start, naive, meter)
    return {**_summary(meter, timings, own, Counter(kinds), admissions), "run_seconds": time.monotonic() - began}


def _summary(
    meter: Meter,
    timings: dict[str, list[float]],
    own: dict[str, list[float]],
    kinds: Counter[str],
    admissions: int,
) -> dict[str, Any]:
    rate = ADMISSIONS / SECONDS  # admissions per second during the crowd

    def costs(
        requests: int, units: Counter[str], seconds: list[float], count: int, writes: int, code: list[float]
    ) -> dict[str, float]:
        per_admission = requests / count
        gbs = (statistics.median(seconds) + per_admission * DYNAMODB_LATENCY_S) * MEMORY_GB
        dynamo = (units["write"] * PRICE["wru"] + units["read"] * PRICE["rru"]) / count
        lambda_cost = gbs * PRICE["lambda_gbs"] * 1e6 + PRICE["lambda_request"]
        return {
            "requests_per_admission": per_admission,
            "writes_per_admission": writes / count,
            "decision_ms_median": statistics.median(seconds) * 1000,
            "code_ms_median": statistics.median(code) * 1000,
            "gbs_per_admission": gbs,
            "dynamo_per_million": dynamo,
            "cost_rest": PRICE["rest"] + lambda_cost + dynamo,
            "cost_http": PRICE["http"] + lambda_cost + dynamo,
        }

    everything = [t for kind in timings.values() for t in kind]
    code = [t for kind in own.values() for t in kind]
    total_units: Counter[str] = sum(meter.units.values(), Counter())
    by_kind: dict[str, Any] = {}
    result = {
        "admissions": admissions,
        "peaks": meter.peaks(),
        **costs(sum(meter.requests.values()), total_units, everything, admissions, sum(meter.writes.values()), code),
        "kinds": by_kind,
    }
    for kind, count in kinds.items():
        hottest = {
            rw: max(
                ((pk, n) for (kind_rw, pk), n in meter.kind_keys[kind].items() if kind_rw == rw),
                key=lambda x: x[1],
                default=("", 0),
            )
            for rw in ("write", "read")
        }
        by_kind[kind] = {
            **costs(meter.requests[kind], meter.units[kind], timings[kind], count, meter.writes[kind], own[kind]),
            # if the whole crowd were this kind: requests/s on its hottest partition key (the
            # stream-state reads through the cache are per environment, not per admission)
            "all_this_kind_peak_writes": (hottest["write"][0], round(hottest["write"][1] / count * rate)),
            "all_this_kind_peak_reads": (hottest["read"][0], round(hottest["read"][1] / count * rate)),
        }
    return result


def _prepare(now: float, kinds: Counter[str], policies: bool = False) -> dict[str, Any]:
    """What the crowd holds before the minute: an open stream, tokens, subscribers (with
    `policies`: the stream's POLICY, and a JWT per JWT player)."""
    from streamauth.logic import totp
    from streamauth.models.subscribers import CreateSubscriberRequest
    from streamauth.models.tokens import TokenRequest
    from streamauth.service.subscribers import subscriber_service
    from streamauth.service.tokens import token_service
    from streamauth.service.viewers import viewer_service

    viewer_service().set_public(STREAM, True, now)
    tokens = token_service()
    request = TokenRequest(STREAM, int(now) + 3600, "play", None)
    one_time = [tokens.issue_one_time(request, now).token_id for _ in range(kinds["one-time"])]
    jwt = tokens.issue_jwt(request, now).token_id
    jwts: list[str] = []
    if policies:
        from streamauth.models.policies import parse_policy
        from streamauth.service.streams import stream_service

        stream_service().set_policy(STREAM, parse_policy(POLICY, stream=True), int(now * 1000))
        # one JWT each (a distinct `roomId` claim makes each token distinct within one second)
        jwts = [
            tokens.issue_jwt(TokenRequest(STREAM, int(now) + 3600, "play", f"r{n}"), now).token_id
            for n in range(kinds["jwt"])
        ]
    secret = totp.new_b32_secret()
    subscribers = subscriber_service()
    for n in range(kinds["subscriber"]):
        body = {"subscriberId": f"member{n:05d}", "type": "play", "b32Secret": secret}
        subscribers.create(CreateSubscriberRequest.parse(STREAM, body), now)
    return {"one_time": one_time, "jwt": jwt, "jwts": jwts, "secret": secret}


def _crowd(
    kinds: list[str], credentials: dict[str, Any], simulated: list[float], start: float, naive: bool, meter: Meter
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Each admission as the nginx hook function makes it; by kind, the in-process time of each
    decision (wall time minus the DynamoDB round trips: the SDK's building and signing of each
    request is in it, as it is in a Lambda's bill) and of streamauth's own code in it (wall time
    minus the whole of each SDK call)."""
    from streamauth.aws import dynamodb_client
    from streamauth.logic import totp
    from streamauth.models.hooks import parse_nginx
    from streamauth.models.viewers import ViewerTokenRequest
    from streamauth.service.access import access_service
    from streamauth.service.viewers import viewer_service
    from streamauth.settings import get_settings

    access, viewers = access_service(), viewer_service()
    key = totp.b32_key(credentials["secret"])
    one_time = iter(credentials["one_time"])
    own_jwts = iter(credentials["jwts"])
    member = 0
    timings: dict[str, list[float]] = defaultdict(list)
    client = dynamodb_client()
    own: dict[str, list[float]] = defaultdict(list)
    round_trips, calls = [0.0], [0.0]

    def called(**_: Any) -> None:
        calls[0] -= time.perf_counter()

    def sent(**_: Any) -> None:
        round_trips[0] -= time.perf_counter()

    def answered(**_: Any) -> None:
        round_trips[0] += time.perf_counter()
        calls[0] += time.perf_counter()

    client.meta.events.register_first("provide-client-params.dynamodb.*", called)  # the call's first event
    client.meta.events.register("before-send.dynamodb.*", sent)
    client.meta.events.register_last("after-call.dynamodb.*", answered)  # its last
    for i, kind in enumerate(kinds):
        simulated[0] = start + i * SECONDS / len(kinds)
        now = simulated[0]
        meter.kind = ""  # minting the viewer JWT is its own call (and writes nothing)
        if kind == "viewer":
            credential = "token=" + viewers.mint(ViewerTokenRequest(STREAM, f"viewer{i}"), now)
        elif kind == "jwt":
            credential = f"token={next(own_jwts, credentials['jwt'])}"
        elif kind == "one-time":
            credential = f"token={next(one_time)}"
        else:
            credential = f"subscriberId=member{member:05d}&subscriberCode={totp.totp(key, now, 60)}"
            member += 1
        addr = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
        hook = parse_nginx(f"app=live&addr={addr}&clientid={i}&call=play&name={STREAM}&{credential}")
        assert hook is not None
        meter.kind = kind
        round_trips[0] = calls[0] = 0.0
        began = time.perf_counter()
        decision = access.decide(hook, now)
        if naive:  # the old design: every viewer counted on the stream's own item
            client.update_item(
                TableName=get_settings().table_name,
                Key={"pk": {"S": f"STREAM#{STREAM}"}, "sk": {"S": "VIEWERS"}},
                UpdateExpression="ADD hits :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
        took = time.perf_counter() - began
        timings[kind].append(took - round_trips[0])
        own[kind].append(took - calls[0])
        assert decision.allow, (kind, decision.reason)
    return timings, own


def main() -> None:
    admissions = int(os.environ.get("SCALE_ADMISSIONS", ADMISSIONS))
    shares = ", ".join(f"{kind} {share:.0%}" for kind, share in MIX)
    print(f"flash crowd: {admissions:,} admissions to one stream in {SECONDS} s of simulated time; mix {shares}")
    print("(the two designs and the policy mix run side by side, one process each; takes minutes)")
    print(f"(policy mix: the stream's policy {json.dumps(POLICY)}, a JWT per JWT player)")
    with ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("spawn")) as pool:
        ours_f, naive_f = pool.submit(run, False, admissions), pool.submit(run, True, admissions)
        policies_f = pool.submit(run, False, admissions, True)
        ours, naive, policies = ours_f.result(), naive_f.result(), policies_f.result()
    print(f"{'':42} {'streamauth':>24} {'naive':>24} {'policy mix':>24}")

    def peak(kind: str) -> Callable[[dict[str, Any]], str]:
        return lambda r: f"{r['peaks'][kind][1]:,}/s ({r['peaks'][kind][0][:24]})"

    rows = [
        ("peak writes/s on one partition key", peak("write")),
        ("peak reads/s on one partition key", peak("read")),
        ("peak transactions/s on one item", peak("transactions on one item")),
        ("DynamoDB requests per admission", lambda r: f"{r['requests_per_admission']:.2f}"),
        ("DynamoDB writes per admission", lambda r: f"{r['writes_per_admission']:.2f}"),
        ("decision in-process, median (no I/O)", lambda r: f"{r['decision_ms_median']:.3f} ms"),
        ("  of it streamauth's code (no SDK), median", lambda r: f"{r['code_ms_median']:.3f} ms"),
        ("Lambda GB-s per admission (128 MB)", lambda r: f"{r['gbs_per_admission']:.6f}"),
        ("DynamoDB $ per million admissions", lambda r: f"${r['dynamo_per_million']:.2f}"),
        ("total $ per million, REST API", lambda r: f"${r['cost_rest']:.2f}"),
        ("total $ per million, HTTP API", lambda r: f"${r['cost_http']:.2f}"),
        ("run time (this machine)", lambda r: f"{r['run_seconds'] / 60:.1f} min"),
    ]
    for label, show in rows:
        print(f"  {label:40} {show(ours):>24} {show(naive):>24} {show(policies):>24}")
    print(
        f"  stream-state reads in AWS: about {ENVIRONMENTS / 5:.0f}/s on its key with {ENVIRONMENTS} warm"
        " environments (one read per environment per 5 s; here one process shares one cache)"
    )
    heading = "requests writes  decision  $/M REST $/M HTTP   whole crowd this kind: hottest key writes/s, reads/s"
    for title, run_ in (("streamauth", ours), ("policy mix", policies)):
        print(f"\n  {'per kind (' + title + ')':34} {heading}")
        for kind, r in run_["kinds"].items():
            key, writes = r["all_this_kind_peak_writes"]
            read_key, reads = r["all_this_kind_peak_reads"]
            print(
                f"  {kind:34} {r['requests_per_admission']:8.2f} {r['writes_per_admission']:6.2f}"
                f" {r['decision_ms_median']:7.3f} ms {r['cost_rest']:10.2f} {r['cost_http']:10.2f}"
                f"   {writes:,} ({key or '-'}), {reads:,} ({read_key or '-'})"
            )
    (tpl.ROOT / ".build").mkdir(exist_ok=True)
    path = tpl.ROOT / ".build" / "bench-scale.json"
    document = {"streamauth": ours, "naive": naive, "policies": policies}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"\n(written to {path.relative_to(tpl.ROOT)})")


if __name__ == "__main__":
    main()
