"""GET /v2/broadcasts/{id}/subscribers/list/{offset}/{size}: subscribers in id order, size capped at 50."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, json_response
from streamauth.models.common import parse_page, parse_stream_id
from streamauth.models.principals import SCOPE_READ
from streamauth.service.subscribers import subscriber_service

app = api(scope=SCOPE_READ)


@app.get("/v2/broadcasts/<id>/subscribers/list/<offset>/<size>")
def list_subscribers(id: str, offset: str, size: str) -> ApiResponse:
    stream_id = parse_stream_id(id)
    first, count = parse_page(offset, size)
    now = clock.now()
    subscribers = subscriber_service().list(stream_id, first, count, now)
    return json_response(200, [subscriber.to_dict(now) for subscriber in subscribers])


lambda_handler = handler(app)
