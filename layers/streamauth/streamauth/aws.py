"""AWS clients, created on first use and reused for the life of the execution environment.

They are botocore clients from one botocore session: the same clients `boto3.client` returns,
without importing boto3, which imports s3transfer and its thread pools on the way (about 34 ms
of a cold start, measured with `make bench`: 269 ms vs 303 ms to import the nginx hook and make
its DynamoDB client). Endpoints follow botocore's `AWS_ENDPOINT_URL_<SERVICE>` variables, which
is how the local runner points the same code at its embedded DynamoDB.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.config import Config


def _config() -> Config:
    from botocore.config import Config

    # Standard retries, then give up well inside API Gateway's 29 s: the caller gets a 503.
    return Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=2,
        read_timeout=5,
    )


def _once_config() -> Config:
    from botocore.config import Config

    # One attempt, short timeouts: a write that must never hold up the answer it records (the
    # decision log) is tried once and dropped on any failure.
    return Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=1, read_timeout=1)


_creating = threading.Lock()  # a botocore session is not safe for concurrent client creation


@cache
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


def _client(service: str, config: Config | None = None) -> Any:
    with _creating:
        return _session().create_client(service, config=config or _config())


@cache
def dynamodb_client() -> Any:
    return _client("dynamodb")


@cache
def dynamodb_once_client() -> Any:
    """DynamoDB tried once (no retries, 1 s timeouts): the decision log's writes."""
    return _client("dynamodb", _once_config())


@cache
def secrets_client() -> Any:
    return _client("secretsmanager")


@cache
def events_client() -> Any:
    return _client("events")


@cache
def sqs_client() -> Any:
    return _client("sqs")


def reset_clients() -> None:
    for getter in (dynamodb_client, dynamodb_once_client, secrets_client, events_client, sqs_client, _session):
        getter.cache_clear()


# -- SnapStart (streamauth/priming.py) ---------------------------------------------------------


def _priming_calls(table: str) -> dict[str, tuple[tuple[str, dict[str, Any]], ...]]:
    """Each request a first invocation may make, per service, as it makes it: against the
    function's own table, since a client caches its endpoint rules' answer per parameters."""
    key = {"pk": {"S": "p"}, "sk": {"S": "p"}}
    values = {":p": {"S": "p"}}
    return {
        "dynamodb": (
            ("get_item", {"TableName": table, "Key": key}),
            ("batch_get_item", {"RequestItems": {table: {"Keys": [key]}}}),
            ("query", {"TableName": table, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": values}),
            ("put_item", {"TableName": table, "Item": key}),
            ("update_item", {"TableName": table, "Key": key}),
            ("delete_item", {"TableName": table, "Key": key}),
            ("transact_write_items", {"TransactItems": [{"Put": {"TableName": table, "Item": key}}]}),
        ),
        "secretsmanager": (("get_secret_value", {"SecretId": "priming"}),),
    }


class _Stub:
    """The body of a priming request's reply (botocore reads it with `stream()`)."""

    def stream(self, **_: Any) -> Any:
        yield b"{}"


def _answer(request: Any, **_: Any) -> Any:
    from botocore.awsrequest import AWSResponse

    headers: Any = {"Content-Type": "application/x-amz-json-1.0"}
    return AWSResponse(request.url, 200, headers, _Stub())


def _unsigned(**_: Any) -> Any:
    from botocore import UNSIGNED

    return UNSIGNED


def _resolve_shapes(shape: Any, seen: set[str]) -> None:
    """Every member of `shape`, at any depth, resolved now (botocore resolves each on its first
    use and keeps it): what a real request's parameters and a real reply's items reach, where a
    priming request's few parameters and empty reply do not."""
    if shape is None or shape.name in seen:
        return
    seen.add(shape.name)
    for child in (
        *getattr(shape, "members", {}).values(),
        *(getattr(shape, name, None) for name in ("member", "key", "value")),
    ):
        _resolve_shapes(child, seen)


_PRIMING = "streamauth-priming-"  # the unique ids of the priming handlers (one per event), removed when done


def prime_clients(table: str) -> None:
    """Before a snapshot: each client a SnapStart function keeps makes each request its first
    invocation may make, unsigned (botocore's `choose-signer`: no credential is looked at) and
    answered here, never sent (`before-send`), so that the service models, each operation's
    serializer and parser, the endpoint rules' answer (cached per client) and the request path
    are loaded and built in the snapshot, not by the first request after a restore. Nothing is
    sent, no connection is opened, and the clients' credentials stay unresolved."""
    calls = _priming_calls(table or "priming")
    for getter in snapstart_clients():
        client = getter()
        events = client.meta.events
        handlers = (("choose-signer", _unsigned), ("before-send", _answer))
        for event, handler in handlers:
            events.register_first(event, handler, unique_id=_PRIMING + event)
        try:
            for operation, params in calls[client.meta.service_model.service_name]:
                getattr(client, operation)(**params)
                model = client.meta.service_model.operation_model(client.meta.method_to_api_mapping[operation])
                _resolve_shapes(model.input_shape, set())
                _resolve_shapes(model.output_shape, set())
        finally:
            for event, _ in handlers:
                events.unregister(event, unique_id=_PRIMING + event)


def _deferred_credentials() -> Any:
    from botocore.credentials import CredentialProvider, Credentials, create_credential_resolver
    from botocore.exceptions import NoCredentialsError

    class DeferredCredentials(Credentials):  # type: ignore[misc]
        """The function's credentials, resolved by botocore's own chain on first use (a request
        after the restore), then delegated to (refreshing as botocore's do)."""

        def __init__(self) -> None:
            self.method = "after-restore"
            self.resolved: Any = None
            self._lock = threading.Lock()
            # botocore's own chain, built now (before the snapshot: it holds where to look, no
            # credential) and asked on first use; each provider reads the environment then
            self._chain = create_credential_resolver(_session())

        def _real(self) -> Any:
            with self._lock:
                if self.resolved is None:
                    found = self._chain.load_credentials()
                    if found is None:
                        raise NoCredentialsError()
                    self.resolved = found
                return self.resolved

        def get_frozen_credentials(self) -> Any:
            return self._real().get_frozen_credentials()

        access_key = property(lambda self: self._real().access_key, lambda self, _: None)
        secret_key = property(lambda self: self._real().secret_key, lambda self, _: None)
        token = property(lambda self: self._real().token, lambda self, _: None)

    class OnFirstUse(CredentialProvider):  # type: ignore[misc]
        METHOD = "after-restore"

        def load(self) -> Any:
            return DeferredCredentials()

    return OnFirstUse()


def unresolved_credentials() -> bool:
    """Whether every credential the session and its clients hold is still unresolved (SnapStart:
    the snapshot must hold none of the function's credentials)."""
    if _session.cache_info().currsize == 0:
        return True
    held = getattr(_session(), "_credentials", None)  # botocore keeps the resolved ones on the session
    return held is None or getattr(held, "resolved", "static") is None


def prime_session() -> None:
    """Before a snapshot: the session's credential chain starts with one that resolves on first
    use, so the clients made now hold credentials that are looked up after the restore."""
    _session().get_component("credential_provider").insert_before("env", _deferred_credentials())


def snapstart_clients() -> tuple[Callable[[], Any], ...]:
    """The clients a SnapStart function's first request uses (made before the snapshot)."""
    return (dynamodb_client, dynamodb_once_client, secrets_client)


def refresh_clients() -> None:
    """After a restore: the clients made before the snapshot are kept if their credentials are
    still unresolved, otherwise every client and the session are made anew; then the clients'
    credentials are resolved, this environment's own (botocore's chain; in Lambda, the runtime
    serves them after each restore). Connections are opened by the first requests."""
    if not unresolved_credentials():
        reset_clients()
    for client in snapstart_clients():
        client()
    held = _session().get_credentials()
    if held is not None:
        held.get_frozen_credentials()  # NoCredentialsError when there are none: the caller's
