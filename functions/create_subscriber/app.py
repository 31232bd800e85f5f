"""POST /v2/broadcasts/{id}/subscribers (and /<AppName>/rest/v2/...): create or replace, Ant Media's addSubscriber."""

from streamauth import clock
from streamauth.http import ApiResponse, ant_media_result, api, handler, json_body
from streamauth.models.common import parse_stream_id
from streamauth.models.principals import SCOPE_SUBSCRIBERS_WRITE
from streamauth.models.subscribers import CreateSubscriberRequest
from streamauth.service.subscribers import subscriber_service

app = api(scope=SCOPE_SUBSCRIBERS_WRITE, ant_media=True)


@app.post("/v2/broadcasts/<id>/subscribers")
def create_subscriber(id: str) -> ApiResponse:
    request = CreateSubscriberRequest.parse(parse_stream_id(id), json_body(app))
    subscriber_service().create(request, clock.now())
    return ant_media_result(True)


lambda_handler = handler(app)
