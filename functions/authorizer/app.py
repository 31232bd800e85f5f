"""API Gateway TOKEN authorizer for operator endpoints.

Raising "Unauthorized" makes API Gateway answer 401 (its UNAUTHORIZED gateway response);
an Allow policy covers the stage so one cached answer serves every route, and functions
check scopes themselves (403).
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from streamauth import clock
from streamauth.auth import allow_policy, auth_context, authenticate
from streamauth.errors import StoreUnavailable, Unauthorized
from streamauth.observability import logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        principal = authenticate(event.get("authorizationToken"), auth_context(), clock.now())
    except Unauthorized as exc:
        logger.info("credential refused", extra={"reason": exc.message})
        metrics.add_metric(name="CredentialRefused", unit=MetricUnit.Count, value=1)
        raise Exception("Unauthorized") from None  # the exact text API Gateway maps to 401
    except StoreUnavailable:
        raise  # API Gateway answers 500 AUTHORIZER_FAILURE; the template maps it to a 503 JSON reply
    logger.append_keys(principal_type=principal.kind)
    return allow_policy(principal, str(event.get("methodArn", "")))
