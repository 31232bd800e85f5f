"""EventBridge consumer: RevokeStreamTokens, BlockSubscriber, UnblockSubscriber,
DeleteSubscriber, RevokeServiceAccount, StreamEnded (one typed dispatch in the layer).

A malformed event goes to the dead-letter queue with its reason and is not retried; a store
failure raises, so Lambda retries it and, after that, sends it to the on-failure queue."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from streamauth import clock
from streamauth.observability import logger, metrics
from streamauth.service.events import BadEvent, dead_letter, handle_command


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)  # the event's id
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    detail_type = str(event.get("detail-type", ""))[:64] if isinstance(event, dict) else ""
    try:
        outcome = handle_command(event, clock.now())
    except BadEvent as exc:
        logger.warning("event dead-lettered", extra={"reason": exc.reason, "detail_type": detail_type})
        metrics.add_metric(name="EventRejected", unit=MetricUnit.Count, value=1)
        dead_letter(event, exc.reason)
        return {"outcome": "dead-lettered", "reason": exc.reason}
    logger.info("event handled", extra={"outcome": outcome, "detail_type": detail_type})
    metrics.add_metric(
        name="EventApplied" if outcome == "applied" else "EventDuplicate", unit=MetricUnit.Count, value=1
    )
    return {"outcome": outcome}
