"""DynamoDB's real failures, injected at the botocore level into the layer's client.

moto answers every request in order and never fails, which is stronger than DynamoDB. This
injector sits at `before-send`, ahead of moto, so botocore's own retry logic sees each fault
exactly as it would from AWS:

- `conflict`: TransactionCanceledException with a TransactionConflict reason (transactions
  only; botocore does not retry it);
- `throttle`: ProvisionedThroughputExceededException (botocore retries it: `times` >= 4
  exhausts the layer's client, which makes 3 retries after the first attempt);
- `timeout`: a read timeout (botocore retries it, as it does a dropped connection);
- `applied`: the request IS applied (moto sees it), then its answer is lost to a timeout, so
  botocore retries a write that already happened. A single-item write's retry meets its own
  result (ConditionalCheckFailed, where it was conditional); a TransactWriteItems retry
  carries the same ClientRequestToken, which DynamoDB answers as a success without applying
  it again (idempotent for 10 minutes), and so does this injector.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

KINDS = ("conflict", "throttle", "timeout", "applied")
_PREFIX = "com.amazonaws.dynamodb.v20120810#"


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any, **__: Any) -> bytes:
        return self._body


def _error(url: str, code: str, message: str, status: int = 400, **extra: Any) -> AWSResponse:
    body = json.dumps({"__type": _PREFIX + code, "message": message, **extra}).encode()
    headers = {"x-amzn-RequestId": "fault", "Content-Type": "application/x-amz-json-1.0"}
    return AWSResponse(url, status, headers, _Raw(body))  # type: ignore[arg-type]


@dataclass
class Fault:
    operation: str
    kind: str
    times: int
    when: Callable[[dict[str, Any]], bool] | None
    hits: int = 0


@dataclass
class Faults:
    """Register on a client; `fail(...)` arms a fault for the next matching requests."""

    client: Any
    armed: list[Fault] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # every request that reached "the network"
    _applied_tokens: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        # botocore calls EVERY before-send handler and uses the first answer: a fault answered
        # here must also keep moto (the last handler) from applying the request. It is pointed
        # at a host moto does not serve, and pointed back when botocore sends it again.
        self.client.meta.events.register_first("before-send.dynamodb", self._before_send)

    def fail(
        self, operation: str, kind: str, times: int = 1, when: Callable[[dict[str, Any]], bool] | None = None
    ) -> Fault:
        assert kind in KINDS, kind
        fault = Fault(operation, kind, times, when)
        self.armed.append(fault)
        return fault

    def _before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        original = getattr(request, "_fault_url", None)
        if original is not None:  # botocore's retry of a request we answered: the real host again
            request.url = original
            del request._fault_url
        operation = str(request.headers.get("X-Amz-Target", b"")).split(".")[-1].strip("'")
        body = json.loads(request.body or b"{}")
        self.sent.append(operation)
        token = body.get("ClientRequestToken") if operation == "TransactWriteItems" else None
        if token and token in self._applied_tokens:  # DynamoDB's idempotent transactions
            return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(b"{}"))  # type: ignore[arg-type]
        for fault in self.armed:
            if fault.operation != operation or fault.hits >= fault.times:
                continue
            if fault.when is not None and not fault.when(body):
                continue
            fault.hits += 1
            response = self._inject(fault, request, token)
            request._fault_url, request.url = request.url, "https://fault.invalid/"  # moto: not mine
            return response
        return None  # on to moto

    def _inject(self, fault: Fault, request: Any, token: str | None) -> AWSResponse:
        if fault.kind == "conflict" and fault.operation != "TransactWriteItems":  # met an ongoing transaction
            return _error(request.url, "TransactionConflictException", "Transaction is ongoing for the item")
        if fault.kind == "conflict":
            count = len(json.loads(request.body).get("TransactItems", [])) or 1
            reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]
            reasons += [{"Code": "None"}] * (count - 1)
            return _error(
                request.url,
                "TransactionCanceledException",
                "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
                CancellationReasons=reasons,
            )
        if fault.kind == "throttle":
            return _error(
                request.url, "ProvisionedThroughputExceededException", "The level of configured provisioned throughput"
            )
        if fault.kind == "applied":
            from moto.core.models import botocore_stubber

            applied = botocore_stubber(event_name="before-send.dynamodb", request=request)
            assert applied is not None, "moto did not answer: is mock_aws active?"
            if token and applied.status_code == 200:
                self._applied_tokens.add(token)
        raise ReadTimeoutError(endpoint_url=request.url)
