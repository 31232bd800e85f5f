"""GET /v2/broadcasts/{id}/subscribers/{sid}: the subscriber (never its secret), or 404."""

from streamauth import clock
from streamauth.errors import NotFound
from streamauth.http import ApiResponse, api, handler, json_response
from streamauth.models.principals import SCOPE_READ
from streamauth.models.subscribers import parse_subscriber_path
from streamauth.service.subscribers import subscriber_service

app = api(scope=SCOPE_READ)


@app.get("/v2/broadcasts/<id>/subscribers/<sid>")
def get_subscriber(id: str, sid: str) -> ApiResponse:
    stream_id, subscriber_id = parse_subscriber_path(id, sid)
    now = clock.now()
    subscriber = subscriber_service().get(stream_id, subscriber_id, now)
    if subscriber is None:
        raise NotFound(f"no subscriber {subscriber_id} for stream {stream_id}")
    return json_response(200, subscriber.to_dict(now))


lambda_handler = handler(app)
