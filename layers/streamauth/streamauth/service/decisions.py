"""The decision log: every refusal (and a sample of admissions) of every enforcement point,
kept `DecisionLogDays` days, and the operator's listing of it.

`log_decision` is THE rule "every decision is logged": each enforcement point calls it once,
where it counts its metric (hooks.py `answer` and `answer_playback`, CloudFront playback,
validate-token, the subscriber-code check). It writes one item per kept decision, tried once,
and never raises: a write that fails (throttled, timed out, denied, the table gone) is a log
line and a `DecisionLogFailed` metric, and the answer stands as decided.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit

from streamauth.logic.admission import Reason
from streamauth.logic.decisions import expires_at, kept
from streamauth.models.common import Action
from streamauth.models.decisions import NO_CREDENTIAL, DecisionQuery, DecisionRecord, encode_cursor
from streamauth.models.hooks import HookRequest, PresentedCredentials
from streamauth.observability import logger, metrics
from streamauth.store.decisions import DecisionStore

if TYPE_CHECKING:
    from streamauth.service.access import Decision

SCAN_BUDGET = 1000  # decisions a listing reads at most per page (the rest: its cursor)
API = "api"  # the `server` of decisions made over the REST API (validate-token, the code check)
_DRAW = random.SystemRandom()  # not a seeded generator: SnapStart restores would draw alike


class DecisionLog:
    def __init__(
        self,
        store: DecisionStore,
        days: int,
        new_id: Callable[[], str] = lambda: secrets.token_hex(8),
    ) -> None:
        self._store = store
        self._days = days
        self._new_id = new_id

    def write(self, record: DecisionRecord) -> bool:
        """Write one decision, once: True when written; a failure is a metric and a log line."""
        try:
            self._store.put(record, self._new_id(), expires_at(record.at_ms, self._days))
        except Exception as exc:  # noqa: BLE001 - whatever failed, the answer stands as decided
            metrics.add_metric(name="DecisionLogFailed", unit=MetricUnit.Count, value=1)
            logger.warning(
                "decision not logged",
                extra={"stream_id": record.stream_id, "reason": record.reason, "error": type(exc).__name__},
            )
            return False
        return True

    def list(self, query: DecisionQuery) -> tuple[list[DecisionRecord], str | None]:
        """A page, newest first, and the cursor of the next (None: nothing older). At most
        SCAN_BUDGET decisions are read: a filter that matched too few of them answers what it
        found and a cursor where it stopped."""
        found: list[DecisionRecord] = []
        last: str | None = None
        page = min(SCAN_BUDGET, query.limit + 1)
        newest = self._store.newest(query.stream_id, query.before, query.since_ms, page)
        for scanned, (sort_key, record) in enumerate(newest, 1):
            if query.matches(record):
                if len(found) == query.limit:  # one more exists: the page ends at the one before it
                    return found, encode_cursor(last or sort_key, query)
                found.append(record)
            last = sort_key
            if scanned >= SCAN_BUDGET:
                return found, encode_cursor(last, query)
        return found, None


def credential_reference(credentials: PresentedCredentials | None) -> str:
    """A presented credential as records name it (sessions' `presented_ref`): never the credential."""
    from streamauth.service.sessions import presented_ref

    if credentials is None or not (credentials.token or credentials.subscriber_id):
        return NO_CREDENTIAL
    return presented_ref(credentials)


def log_decision(
    stream_id: str,
    action: Action,
    allowed: bool,
    reason: Reason,
    now: float,
    *,
    credentials: PresentedCredentials | None = None,
    session_id: str | None = None,
    server: str | None = None,
    server_id: str | None = None,
    address: str | None = None,
    renewal: bool = False,
) -> bool:
    """THE call of every enforcement point (see the module's doc): never raises, True when written.
    `renewal`: a decision about a session already admitted (its allowance is not logged). What is
    not kept (logic/decisions.py) is dropped before anything is built: the admission path pays a
    random draw."""
    if not kept(allowed, renewal, _DRAW.random() if allowed else 0.0):
        return False
    try:
        record = DecisionRecord(
            at_ms=int(now * 1000),
            stream_id=stream_id,
            action=action,
            allowed=allowed,
            reason=Reason(reason),
            credential=credential_reference(credentials),
            subscriber_id=credentials.subscriber_id if credentials is not None else None,
            session_id=session_id or None,
            server=server,
            server_id=server_id,
            address=address,
        )
        return decision_log().write(record)
    except Exception as exc:  # noqa: BLE001 - settings or clients that cannot be made: the answer stands
        metrics.add_metric(name="DecisionLogFailed", unit=MetricUnit.Count, value=1)
        logger.warning("decision not logged", extra={"stream_id": stream_id, "error": type(exc).__name__})
        return False


def log_hook_decision(hook: HookRequest, decision: Decision, now: float) -> bool:
    """`log_decision` for a media server's admission or renew (hooks.py `answer`, and the refusal
    flood of `make bench-scale`, which must log exactly what the hook logs)."""
    return log_decision(
        hook.stream_id,
        hook.action,
        decision.allow,
        decision.reason,
        now,
        credentials=hook.credentials,
        session_id=decision.session_id,
        server=hook.server,
        server_id=hook.server_id,
        address=hook.client_ip,
        renewal=hook.phase == "renew",
    )


def decision_log() -> DecisionLog:
    from streamauth.aws import dynamodb_client, dynamodb_once_client
    from streamauth.settings import get_settings

    settings = get_settings()
    store = DecisionStore(dynamodb_client(), settings.table_name, dynamodb_once_client())
    return DecisionLog(store, settings.decision_log_days)
