"""DynamoDB Streams -> Lambda, locally: the event-source mappings template.yaml declares with
`Type: DynamoDB` events, run as Lambda runs them, so `make run` feeds the table's changes to the
change publisher and the session enforcer (and push enforcement kicks media servers locally).

Per mapping, one background thread reads the table's stream from moto's own backend (in this
process; GetRecords through moto's API would leave one shard iterator behind per poll), from
`StartingPosition` (LATEST: the end of the stream when the runner starts; TRIM_HORIZON: the oldest
record kept), four times a second while idle, as Lambda polls a DynamoDB stream shard. Each record
is shaped as Lambda delivers it (`eventSourceARN`, `ApproximateCreationDateTime` in epoch seconds),
dropped unless it matches one of the mapping's `FilterCriteria` patterns (Lambda's filter syntax:
values, `exists`, `prefix`, `suffix`, `equals-ignore-case`, `anything-but`, `numeric`), and batched:
up to `BatchSize` records (and 6 MB), waiting up to `MaximumBatchingWindowInSeconds` for a batch to
fill. A batch goes to the function through the runner's warm workers (runtime.Lambdas), in order,
one at a time per mapping, as a shard is processed:

- a function error retries the batch; with `BisectBatchOnFunctionError` a batch of two or more
  records is split in two first, each half tried in turn (a split uses no retry);
- with `FunctionResponseTypes: [ReportBatchItemFailures]`, `batchItemFailures` retries from the
  lowest failed sequence number (the records before it succeeded); an itemIdentifier that is empty
  or names no record of the batch fails the whole batch;
- after `MaximumRetryAttempts` retries (-1: until stopped), the records still failing are skipped,
  and Lambda's invocation record for them (metadata only: `DDBStreamBatchInfo`, never the records)
  is sent to the `DestinationConfig.OnFailure` SQS queue, the one moto serves.

Not modelled: `MaximumRecordAgeInSeconds`, `ParallelizationFactor`, `TumblingWindowInSeconds`
(the template sets none), and TTL removals (moto never expires items, so no record carries the
`userIdentity` of DynamoDB's TTL service). Positions live in memory: a restarted runner starts
again from `StartingPosition`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from localapi import template as tpl

POLL_SECONDS = 0.25  # Lambda polls each DynamoDB stream shard four times a second
READ_LIMIT = 1000  # GetRecords' most records per call
MAX_PAYLOAD = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit
RETRY_BACKOFF_SECONDS = 0.1  # doubled per retry of the same records, at most MAX_BACKOFF_SECONDS
MAX_BACKOFF_SECONDS = 2.0
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
ACCOUNT = "123456789012"  # moto's default account, as runtime.Backend.refs names it
FILTER_OPERATORS = frozenset({"exists", "prefix", "suffix", "equals-ignore-case", "anything-but", "numeric"})


# -- FilterCriteria: Lambda's event filtering (EventBridge pattern syntax) ---------------------


_MISSING = object()


class Pattern:
    """One `FilterCriteria.Filters[].Pattern`, checked when read: an operator this matcher does
    not know is refused at start-up, never silently let through or dropped."""

    def __init__(self, text: str | dict[str, Any]) -> None:
        pattern = json.loads(text) if isinstance(text, str) else text
        if not isinstance(pattern, dict) or not pattern:
            raise ValueError(f"a filter pattern is a non-empty JSON object: {text!r}")
        _check(pattern, "")
        self.pattern: dict[str, Any] = pattern

    def matches(self, record: dict[str, Any]) -> bool:
        return _matches(self.pattern, record)

    def __repr__(self) -> str:
        return f"Pattern({json.dumps(self.pattern)})"


def _check(pattern: dict[str, Any], where: str) -> None:
    for key, rule in pattern.items():
        path = f"{where}.{key}" if where else key
        if isinstance(rule, dict):
            if not rule:
                raise ValueError(f"filter pattern {path}: an empty object matches nothing")
            _check(rule, path)
        elif isinstance(rule, list):
            if not rule:
                raise ValueError(f"filter pattern {path}: an empty list matches nothing")
            for alternative in rule:
                _check_leaf(alternative, path)
        else:
            raise ValueError(f"filter pattern {path}: values must be in a list, e.g. [{json.dumps(rule)}]")


def _check_leaf(rule: Any, path: str) -> None:
    if not isinstance(rule, dict):
        if isinstance(rule, list):
            raise ValueError(f"filter pattern {path}: a list inside a list")
        return
    if len(rule) != 1:
        raise ValueError(f"filter pattern {path}: one operator per object, got {sorted(rule)}")
    ((operator, argument),) = rule.items()
    if operator not in FILTER_OPERATORS:
        raise ValueError(f"filter pattern {path}: operator {operator!r} is not supported locally")
    if operator == "exists" and not isinstance(argument, bool):
        raise ValueError(f"filter pattern {path}: exists takes true or false")
    if operator in ("prefix", "suffix", "equals-ignore-case") and not isinstance(argument, str):
        raise ValueError(f"filter pattern {path}: {operator} takes a string")
    if (
        operator == "anything-but"
        and isinstance(argument, dict)
        and (set(argument) != {"prefix"} or not isinstance(argument["prefix"], str))
    ):
        raise ValueError(f"filter pattern {path}: anything-but takes values or {{'prefix': string}}")
    if operator == "numeric":
        _numeric_bounds(argument, path)


_NUMERIC_OPS: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _numeric_bounds(argument: Any, path: str = "") -> list[tuple[str, float]]:
    if not isinstance(argument, list) or len(argument) not in (2, 4):
        raise ValueError(f"filter pattern {path}: numeric takes [op, n] or [op, n, op, n]")
    bounds = []
    for op, number in zip(argument[::2], argument[1::2], strict=True):
        if op not in _NUMERIC_OPS or not _is_number(number):
            raise ValueError(f"filter pattern {path}: numeric takes [op, n] or [op, n, op, n]")
        bounds.append((str(op), float(number)))
    return bounds


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _matches(pattern: dict[str, Any], data: Any) -> bool:
    for key, rule in pattern.items():
        value = data.get(key, _MISSING) if isinstance(data, dict) else _MISSING
        if isinstance(rule, dict):  # a nested pattern: under a missing field nothing exists
            if not _matches(rule, value if isinstance(value, dict) else {}):
                return False
        elif not any(_leaf(alternative, value) for alternative in rule):
            return False
    return True


def _leaf(rule: Any, value: Any) -> bool:
    """One alternative of a leaf's list against the event's value (a list value: any element)."""
    if isinstance(rule, dict) and "exists" in rule:
        leaf = value is not _MISSING and not isinstance(value, dict)  # exists matches leaves only
        return leaf is rule["exists"]
    if value is _MISSING or isinstance(value, dict):
        return False
    if isinstance(value, list):
        return any(_leaf(rule, element) for element in value)
    if not isinstance(rule, dict):
        return _same(rule, value)
    ((operator, argument),) = rule.items()
    if operator == "prefix":
        return isinstance(value, str) and value.startswith(argument)
    if operator == "suffix":
        return isinstance(value, str) and value.endswith(argument)
    if operator == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == str(argument).casefold()
    if operator == "anything-but":
        if isinstance(argument, dict):
            return isinstance(value, str) and not value.startswith(argument["prefix"])
        excluded = argument if isinstance(argument, list) else [argument]
        return not any(_same(other, value) for other in excluded)
    if operator == "numeric":
        return _is_number(value) and all(_NUMERIC_OPS[op](float(value), n) for op, n in _numeric_bounds(argument))
    return False


def _same(rule: Any, value: Any) -> bool:
    """JSON equality: numbers by value (1 and 1.0), never a boolean for a number."""
    if _is_number(rule) and _is_number(value):
        return float(rule) == float(value)
    return type(rule) is type(value) and bool(rule == value)


# -- the mappings template.yaml declares -------------------------------------------------------


@dataclass(frozen=True)
class Mapping:
    """One `Type: DynamoDB` event of a function, with Lambda's defaults where it is silent."""

    function: str
    table: str  # the table's logical id (Stream: !GetAtt <Table>.StreamArn)
    starting_position: str = "LATEST"
    batch_size: int = 100
    window: float = 0.0  # MaximumBatchingWindowInSeconds
    filters: tuple[Pattern, ...] = ()
    bisect: bool = False
    max_retries: int = -1  # -1: until the record expires (here: until the runner stops)
    report_item_failures: bool = False
    on_failure: str | None = None  # the destination's logical id (!GetAtt <Queue>.Arn)
    enabled: bool = True

    def accepts(self, record: dict[str, Any]) -> bool:
        return not self.filters or any(f.matches(record) for f in self.filters)


def _logical_id(value: Any, attribute: str, what: str) -> str:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        if isinstance(target, list) and len(target) == 2 and target[1] == attribute:
            return str(target[0])
    raise ValueError(f"{what}: expected !GetAtt <LogicalId>.{attribute}, got {value!r}")


def mappings(template: dict[str, Any] | None = None) -> list[Mapping]:
    """Every `Type: DynamoDB` event source of every function in template.yaml."""
    template = template or tpl.load()
    found = []
    for name, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event_name, event in resource["Properties"].get("Events", {}).items():
            if event.get("Type") != "DynamoDB":
                continue
            where = f"{name}.Events.{event_name}"
            props = event["Properties"]
            position = str(props.get("StartingPosition", "LATEST"))
            if position not in ("LATEST", "TRIM_HORIZON"):
                raise ValueError(f"{where}: StartingPosition {position} (DynamoDB takes LATEST or TRIM_HORIZON)")
            destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            filters = props.get("FilterCriteria", {}).get("Filters", [])
            found.append(
                Mapping(
                    function=name,
                    table=_logical_id(props["Stream"], "StreamArn", f"{where}.Stream"),
                    starting_position=position,
                    batch_size=int(props.get("BatchSize", 100)),
                    window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                    filters=tuple(Pattern(f["Pattern"]) for f in filters),
                    bisect=bool(props.get("BisectBatchOnFunctionError", False)),
                    max_retries=int(props.get("MaximumRetryAttempts", -1)),
                    report_item_failures=REPORT_BATCH_ITEM_FAILURES in props.get("FunctionResponseTypes", []),
                    on_failure=_logical_id(destination, "Arn", f"{where}.OnFailure") if destination else None,
                    enabled=bool(props.get("Enabled", True)),
                )
            )
    return found


# -- reading a table's stream --------------------------------------------------------------------


class Shard(Protocol):
    """A table's stream, as a sequence of records numbered by SequenceNumber."""

    arn: str
    shard_id: str

    def position(self, starting: str) -> int:
        """The sequence number a mapping starting at LATEST or TRIM_HORIZON reads first."""
        ...

    def read(self, position: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Up to `limit` records from `position` on (the oldest kept, when older ones were
        trimmed), as DynamoDB Streams returns them, and the position after the last one."""
        ...


class MotoShard:
    """The stream of a table in this process's moto (the runner's embedded server), read from
    moto's backend: its record list, numbered contiguously from the trim horizon."""

    def __init__(self, table_name: str, region: str, arn: str) -> None:
        self.table_name = table_name
        self.region = region
        self.arn = arn
        self.shard_id = self._shard().id

    def _shard(self) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        shard = dynamodb_backends[ACCOUNT][self.region].get_table(self.table_name).stream_shard
        if shard is None:
            raise RuntimeError(f"table {self.table_name} has no stream")
        return shard

    def position(self, starting: str) -> int:
        items = list(self._shard().items)
        horizon = _sequence(items[0]) if items else int(self._shard().starting_sequence_number)
        return horizon if starting == "TRIM_HORIZON" else horizon + len(items)

    def read(self, position: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        items = list(self._shard().items)  # a copy: moto appends (and runtime.bound_streams trims) meanwhile
        if not items:
            return [], position
        first = _sequence(items[0])  # the numbers travel with the records: no race with a trim
        start = max(0, position - first)
        chosen = items[start : start + limit]
        if not chosen:
            return [], max(position, first + len(items))
        records = [json.loads(json.dumps(item.to_json(), default=_json_default)) for item in chosen]
        return records, _sequence(chosen[-1]) + 1


def _sequence(item: Any) -> int:
    return int(item.to_json()["dynamodb"]["SequenceNumber"])


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return _epoch(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _epoch(value: dt.datetime) -> float:
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # moto's utcnow() is naive UTC
    return float(int(aware.timestamp()))  # DynamoDB rounds it down to the second


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A DynamoDB Streams record as Lambda passes it to a function."""
    data = dict(record["dynamodb"])
    created = data.get("ApproximateCreationDateTime")
    if isinstance(created, str):
        data["ApproximateCreationDateTime"] = _epoch(dt.datetime.fromisoformat(created))
    shaped = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", "us-east-1"),
        "dynamodb": data,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:  # TTL deletions: {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
        shaped["userIdentity"] = record["userIdentity"]
    return shaped


# -- one mapping: poll, filter, batch, invoke, retry ---------------------------------------------


Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]  # runtime.Lambdas.invoke


@dataclass
class _Part:
    records: list[dict[str, Any]]
    retries: int = 0  # retries these records have had (a bisection is not one)
    invokes: int = 0  # invocations that carried them


@dataclass
class Poller:
    """One event-source mapping: `poll_once` reads and delivers what is ready; `run` loops it
    in a background thread until `stop` is set."""

    mapping: Mapping
    shard: Shard
    invoke: Invoke
    dead_letter: Callable[[dict[str, Any]], None]  # an invocation record to the on-failure destination
    stop: threading.Event = field(default_factory=threading.Event)
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True)
    clock: Callable[[], float] = time.monotonic
    position: int | None = None
    _buffer: list[dict[str, Any]] = field(default_factory=list)
    _first_at: float | None = None  # when the oldest buffered record was read

    def run(self) -> None:
        last_failure = ""
        while not self.stop.is_set():
            try:
                delivered = self.poll_once()
                last_failure = ""
            except Exception as exc:  # moto mid-shutdown, the queue gone: try again shortly
                if self.stop.is_set():
                    return
                if repr(exc) != last_failure:  # once per distinct failure, not four times a second
                    self.log(f"streams: {self.mapping.function}: {exc!r}")
                last_failure = repr(exc)
                delivered = False
            if not delivered:
                self.stop.wait(self._idle_wait())

    def _idle_wait(self) -> float:
        if self._first_at is None:
            return POLL_SECONDS
        left = self.mapping.window - (self.clock() - self._first_at)
        return max(0.01, min(POLL_SECONDS, left))

    def poll_once(self) -> bool:
        """Read new records into the batch and deliver it when full or its window has passed;
        whether a batch was delivered."""
        if self.position is None:
            self.position = self.shard.position(self.mapping.starting_position)
        self._fill()
        if not self._buffer:
            return False
        full = len(self._buffer) >= self.mapping.batch_size or _size(self._buffer) >= MAX_PAYLOAD
        waited = self._first_at is not None and self.clock() - self._first_at >= self.mapping.window
        if not (full or waited):
            return False
        batch = _batch(self._buffer, self.mapping.batch_size)
        del self._buffer[: len(batch)]
        self._first_at = self.clock() if self._buffer else None  # the next window starts now
        self.deliver(batch)
        return True

    def _fill(self) -> None:
        assert self.position is not None
        while len(self._buffer) < self.mapping.batch_size and not self.stop.is_set():
            records, after = self.shard.read(self.position, READ_LIMIT)
            if not records:
                self.position = after
                return
            for record in records:
                sequence = int(record["dynamodb"]["SequenceNumber"])
                if sequence < self.position:
                    continue
                self.position = sequence + 1  # a record filtered out is done with, as in Lambda
                shaped = lambda_record(record, self.shard.arn)
                if self.mapping.accepts(shaped):
                    if self._first_at is None:
                        self._first_at = self.clock()
                    self._buffer.append(shaped)
                    if len(self._buffer) >= self.mapping.batch_size:
                        return

    def deliver(self, batch: list[dict[str, Any]]) -> None:
        """One batch, in order, until every record succeeded or was given up (to the on-failure
        destination); returns early, delivering nothing more, once `stop` is set."""
        parts: deque[_Part] = deque([_Part(batch)])
        while parts:
            if self.stop.is_set():
                return
            part = parts.popleft()
            part.invokes += 1
            reply = self.invoke(self.mapping.function, {"Records": part.records})
            if self.stop.is_set():
                return  # the runner is stopping (and may have killed the worker): no verdict
            failed_from, error = self._verdict(part.records, reply)
            if failed_from is None:
                continue
            if error is not None and self.mapping.bisect and len(part.records) > 1:
                half = len(part.records) // 2
                self.log(f"streams: {self.mapping.function} failed ({error}): bisecting {len(part.records)} records")
                parts.extendleft(
                    [
                        _Part(part.records[half:], part.retries, part.invokes),
                        _Part(part.records[:half], part.retries, part.invokes),
                    ]
                )
                continue
            rest = part.records[failed_from:]
            if 0 <= self.mapping.max_retries <= part.retries:
                self._give_up(rest, part, error)
                continue
            self.log(
                f"streams: {self.mapping.function} failed ({error or 'batchItemFailures'}) on "
                f"{_span(rest)}: retry {part.retries + 1}"
                + (f" of {self.mapping.max_retries}" if self.mapping.max_retries >= 0 else "")
            )
            self.stop.wait(min(MAX_BACKOFF_SECONDS, RETRY_BACKOFF_SECONDS * 2**part.retries))
            parts.appendleft(_Part(rest, part.retries + 1, part.invokes))

    def _verdict(self, records: list[dict[str, Any]], reply: dict[str, Any]) -> tuple[int | None, str | None]:
        """(index of the first record to retry, the function error) - (None, None): all done."""
        if "error" in reply:
            return 0, f"{reply.get('errorType', 'Error')}: {reply['error']}"
        if not self.mapping.report_item_failures:
            return None, None
        result = reply.get("result")
        failures = result.get("batchItemFailures") if isinstance(result, dict) else None
        if not failures:  # a null or empty response or list: the whole batch succeeded
            return None, None
        sequences = [r["dynamodb"]["SequenceNumber"] for r in records]
        indexes = []
        for failure in failures if isinstance(failures, list) else [failures]:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not isinstance(identifier, str) or identifier not in sequences:
                return 0, None  # an empty, null or unknown itemIdentifier: the whole batch failed
            indexes.append(sequences.index(identifier))
        return min(indexes), None  # Lambda checkpoints at the lowest sequence number reported

    def _give_up(self, records: list[dict[str, Any]], part: _Part, error: str | None) -> None:
        self.log(
            f"streams: {self.mapping.function} gave up on {_span(records)} after {part.retries} retries"
            + (f" ({error})" if error else " (batchItemFailures)")
            + (f": sent to {self.mapping.on_failure}" if self.mapping.on_failure else ": skipped")
        )
        if self.mapping.on_failure is None:
            return
        self.dead_letter(invocation_record(self.mapping.function, self.shard, records, part.invokes, error is not None))


def _span(records: list[dict[str, Any]]) -> str:
    first, last = records[0]["dynamodb"]["SequenceNumber"], records[-1]["dynamodb"]["SequenceNumber"]
    return f"record {first}" if first == last else f"records {first}..{last} ({len(records)})"


def _size(records: list[dict[str, Any]]) -> int:
    return len(json.dumps({"Records": records}))


def _batch(buffer: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The oldest records, at most `limit` and at most MAX_PAYLOAD as one event (at least one)."""
    batch: list[dict[str, Any]] = []
    size = len('{"Records": []}')
    for record in buffer[:limit]:
        size += len(json.dumps(record)) + 2
        if batch and size > MAX_PAYLOAD:
            break
        batch.append(record)
    return batch


def _iso(seconds: float) -> str:
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def invocation_record(
    function: str, shard: Shard, records: list[dict[str, Any]], invokes: int, function_error: bool
) -> dict[str, Any]:
    """What Lambda sends a stream mapping's on-failure destination for records it gave up on:
    where they are in the stream, never the records themselves."""
    created = [float(r["dynamodb"].get("ApproximateCreationDateTime") or time.time()) for r in records]
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:
        response["functionError"] = "Unhandled"
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{function}",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": invokes,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": _iso(time.time()),
        "DDBStreamBatchInfo": {
            "shardId": shard.shard_id,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(created[0]),
            "approximateArrivalOfLastRecord": _iso(created[-1]),
            "batchSize": len(records),
            "streamArn": shard.arn,
        },
    }


# -- the feed: every mapping of the template, against the runner's backend ---------------------


class StreamFeed:
    """The template's DynamoDB event-source mappings, each polled in a daemon thread and
    delivered through the runner's warm workers. `stop()` returns at once; `join()` waits (a
    little) for the threads, after the workers are stopped (an invocation in flight ends then)."""

    def __init__(self, backend: Any, lambdas: Any, found: Iterable[Mapping] | None = None) -> None:
        self._backend = backend
        self._lambdas = lambdas
        self._mappings = [m for m in (mappings() if found is None else found) if m.enabled]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.pollers: list[Poller] = []
        self.reason_off = ""

    def start(self) -> StreamFeed:
        if not self._mappings:
            return self
        if self._backend.dynamodb_endpoint != self._backend.endpoint:
            self.reason_off = f"DynamoDB at {self._backend.dynamodb_endpoint}: only the embedded one's stream is fed"
            return self
        refs = self._backend.refs()
        dynamodb = self._backend.client("dynamodb")
        sqs = self._backend.client("sqs")  # made here: creating boto3 clients from several threads is not safe
        shards: dict[str, MotoShard] = {}
        for mapping in self._mappings:
            if mapping.table not in shards:
                name = self._backend.table_names[mapping.table]
                arn = dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
                shards[mapping.table] = MotoShard(name, dynamodb.meta.region_name, arn)
            queue = refs.get(mapping.on_failure) if mapping.on_failure else None
            if mapping.on_failure and not (queue or "").startswith("http"):
                raise ValueError(f"{mapping.function}: on-failure destination {mapping.on_failure} is not an SQS queue")
            poller = Poller(mapping, shards[mapping.table], self._lambdas.invoke, self._sender(sqs, queue), self._stop)
            poller.position = poller.shard.position(mapping.starting_position)  # LATEST: from now on
            self.pollers.append(poller)
        for poller in self.pollers:
            thread = threading.Thread(target=poller.run, name=f"stream:{poller.mapping.function}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    @staticmethod
    def _sender(sqs: Any, queue_url: str | None) -> Callable[[dict[str, Any]], None]:
        def send(record: dict[str, Any]) -> None:
            if queue_url is not None:
                sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record))

        return send

    def describe(self) -> str:
        if self.reason_off:
            return f"Table streams: not fed ({self.reason_off})"
        if not self.pollers:
            return "Table streams: no function reads one"
        fed = ", ".join(
            f"{p.mapping.function} (batch {p.mapping.batch_size}, window {p.mapping.window:g} s"
            + (f", {len(p.mapping.filters)} filters" if p.mapping.filters else "")
            + ")"
            for p in self.pollers
        )
        return f"Table streams -> {fed}; AWS stand-ins (moto) at {self._backend.endpoint}"

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float = 2.0) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            with contextlib.suppress(RuntimeError):
                thread.join(max(0.0, deadline - time.monotonic()))


def moto_endpoint(log_text: str) -> str | None:
    """The moto endpoint a runner's output names (describe()'s line), for tests and tools."""
    found = re.search(r"AWS stand-ins \(moto\) at (http://\S+)", log_text)
    return found.group(1) if found else None
