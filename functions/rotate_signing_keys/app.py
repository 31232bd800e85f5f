"""Secrets Manager's rotation function for SigningKeysSecret: createSecret, setSecret,
testSecret, finishSecret (streamauth/service/rotation.py). Logs key ids and times, never keys."""

from typing import Any

from streamauth import clock
from streamauth.observability import logger
from streamauth.service.rotation import rotation


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> None:
    step = str(event.get("Step", ""))
    done = rotation().run(str(event["SecretId"]), str(event["ClientRequestToken"]), step, int(clock.now()))
    logger.info("signing keys rotation", extra={"step": step, "done": done})
