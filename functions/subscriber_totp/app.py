"""GET /v2/broadcasts/{id}/subscribers/{sid}/totp[?type]: the current code in message AND dataId."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, query, result
from streamauth.models.common import parse_action
from streamauth.models.principals import SCOPE_SUBSCRIBERS_WRITE
from streamauth.models.subscribers import parse_subscriber_path
from streamauth.service.subscribers import subscriber_service

app = api(scope=SCOPE_SUBSCRIBERS_WRITE)


@app.get("/v2/broadcasts/<id>/subscribers/<sid>/totp")
def subscriber_totp(id: str, sid: str) -> ApiResponse:
    stream_id, subscriber_id = parse_subscriber_path(id, sid)
    raw_type = query(app).get("type")
    action = parse_action(raw_type) if raw_type else None
    code = subscriber_service().current_code(stream_id, subscriber_id, action, clock.now())
    if not code.success:
        return result(False, code.message)
    return result(True, code.code, code.code)


lambda_handler = handler(app)
