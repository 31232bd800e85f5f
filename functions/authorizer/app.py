"""API Gateway TOKEN authorizer for operator endpoints.

A refused credential gets a Deny policy whose context says why (`reason`: missing, malformed,
expired or not_accepted, and a `message` for the caller): API Gateway answers its ACCESS_DENIED
gateway response, which template.yaml makes a 401 showing both (a raised "Unauthorized" could
say nothing). An Allow policy covers the stage so one cached answer serves every route, and
functions check scopes themselves (403).
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from streamauth import clock
from streamauth.auth import allow_policy, auth_context, authenticate, deny_policy
from streamauth.errors import StoreUnavailable, Unauthorized
from streamauth.observability import logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    method_arn = str(event.get("methodArn", ""))
    try:
        principal = authenticate(event.get("authorizationToken"), auth_context(), clock.now())
    except Unauthorized as exc:
        # One line, reason first; the internal detail names the check, never the credential or a key.
        logger.info(f"credential refused: {exc.reason}: {exc.message}", extra={"reason": exc.reason})
        metrics.add_metric(name="CredentialRefused", unit=MetricUnit.Count, value=1)
        return deny_policy(exc, method_arn)
    except StoreUnavailable:
        raise  # API Gateway answers 500 AUTHORIZER_FAILURE; the template maps it to a 503 JSON reply
    logger.append_keys(principal_type=principal.kind)
    return allow_policy(principal, method_arn)
