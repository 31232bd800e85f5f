"""GET /v2/push-notification/subscriber-auth-token?subscriberId[&timeoutSeconds]: a JWT in dataId."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, query, result
from streamauth.models.common import parse_int
from streamauth.models.principals import SCOPE_SUBSCRIBERS_WRITE
from streamauth.models.subscribers import parse_subscriber_id
from streamauth.service.subscribers import MAX_PUSH_TIMEOUT, push_token

app = api(scope=SCOPE_SUBSCRIBERS_WRITE)


@app.get("/v2/push-notification/subscriber-auth-token")
def subscriber_auth_token() -> ApiResponse:
    params = query(app)
    subscriber_id = parse_subscriber_id(params.get("subscriberId"))
    raw_timeout = params.get("timeoutSeconds")
    timeout = (
        3600
        if raw_timeout in (None, "")
        else parse_int(raw_timeout, "timeoutSeconds", minimum=1, maximum=MAX_PUSH_TIMEOUT)
    )
    token = push_token(subscriber_id, timeout, clock.now())
    return result(True, "Token is available in dataId field", token)


lambda_handler = handler(app)
