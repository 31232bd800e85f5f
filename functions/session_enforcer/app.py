"""DynamoDB Streams -> media servers without a renew hook (SRS, MediaMTX, Ant Media): end the
sessions a change ends (revoked tokens, a stream closed to viewers, a subscriber blocked or
deleted, a session ended over the API) through each server's own API.

Partial batch responses: a record whose DynamoDB reads or writes fail is reported alone and
retried; a server that cannot be reached fails no record (its kicks are dead-lettered)."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from streamauth import clock
from streamauth.observability import logger, metrics
from streamauth.service.enforcement import enforcer

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    batch = enforcer()  # one per batch: a server found down is not waited for again in it

    def record_handler(record: DynamoDBRecord) -> None:
        for kick in batch.handle(record.raw_event, clock.now()):
            status = kick.status.split(":", 1)[0]
            metrics.add_metric(name=f"SessionKick_{status}", unit=MetricUnit.Count, value=1)
            log = logger.warning if status == "failed" else logger.info
            log(
                "session kick",
                extra={
                    "stream_id": kick.stream_id,
                    "session_id": kick.session_id,
                    "server": kick.server,
                    "server_id": kick.server_id or "",
                    "why": kick.why,
                    "status": kick.status,
                    "requests": kick.requests,
                },
            )

    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
