"""GET /v2/broadcasts/{id}/subscribers/{sid}/totp[?type]: the current code in message AND dataId."""

from streamauth import clock
from streamauth.http import ApiResponse, ant_media_result, api, handler, query
from streamauth.models.common import parse_action
from streamauth.models.principals import SCOPE_SUBSCRIBERS_WRITE
from streamauth.models.subscribers import parse_subscriber_path
from streamauth.service.subscribers import subscriber_service

app = api(scope=SCOPE_SUBSCRIBERS_WRITE, ant_media=True)


@app.get("/v2/broadcasts/<id>/subscribers/<sid>/totp")
def subscriber_totp(id: str, sid: str) -> ApiResponse:
    stream_id, subscriber_id = parse_subscriber_path(id, sid)
    raw_type = query(app).get("type")
    action = parse_action(raw_type) if raw_type else None
    code = subscriber_service().current_code(stream_id, subscriber_id, action, clock.now())
    if not code.success:
        return ant_media_result(False, code.message)
    return ant_media_result(True, code.code or "", code.code or "")


lambda_handler = handler(app)
