"""GET /v2/push-notification/subscriber-auth-token?subscriberId[&timeoutSeconds] (and
/<AppName>/rest/v2/...): a JWT in dataId, Ant Media's getSubscriberAuthenticationToken."""

from streamauth import clock
from streamauth.http import ApiResponse, ant_media_result, api, handler, query
from streamauth.models.common import parse_int
from streamauth.models.principals import SCOPE_SUBSCRIBERS_WRITE
from streamauth.models.subscribers import parse_rest_subscriber_id
from streamauth.service.subscribers import MAX_PUSH_TIMEOUT, push_token

DEFAULT_TIMEOUT = 3600
app = api(scope=SCOPE_SUBSCRIBERS_WRITE, ant_media=True)


@app.get("/v2/push-notification/subscriber-auth-token")
def subscriber_auth_token() -> ApiResponse:
    params = query(app)
    subscriber_id = parse_rest_subscriber_id(params.get("subscriberId"))
    raw_timeout = params.get("timeoutSeconds")
    timeout = 0 if raw_timeout in (None, "") else parse_int(raw_timeout, "timeoutSeconds", maximum=MAX_PUSH_TIMEOUT)
    if timeout <= 0:  # Ant Media: none, 0 or negative is an hour
        timeout = DEFAULT_TIMEOUT
    token = push_token(subscriber_id, timeout, clock.now())
    return ant_media_result(True, "Token is available in dataId field", token)


lambda_handler = handler(app)
