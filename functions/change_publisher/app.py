"""DynamoDB Streams → EventBridge: every state change announced as a typed event.

Partial batch responses: a record that fails is reported alone, so the rest of the batch
is not replayed (Powertools batch utility)."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from streamauth.observability import logger, metrics
from streamauth.service.events import publish
from streamauth.store.changes import changes

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> None:
    found = changes(record.raw_event)
    if found:
        publish(found)
        logger.debug("changes published", extra={"types": [c.detail_type for c in found]})


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
