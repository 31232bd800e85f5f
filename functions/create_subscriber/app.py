"""POST /v2/broadcasts/{id}/subscribers: create or replace; a generated b32Secret is returned once, in dataId."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, json_body, result
from streamauth.models.common import parse_stream_id
from streamauth.models.principals import SCOPE_SUBSCRIBERS_WRITE
from streamauth.models.subscribers import CreateSubscriberRequest
from streamauth.service.subscribers import subscriber_service

app = api(scope=SCOPE_SUBSCRIBERS_WRITE)


@app.post("/v2/broadcasts/<id>/subscribers")
def create_subscriber(id: str) -> ApiResponse:
    request = CreateSubscriberRequest.parse(parse_stream_id(id), json_body(app))
    generated = subscriber_service().create(request, clock.now())
    if generated:
        return result(True, "subscriber saved; its generated b32Secret is in dataId and is shown only now", generated)
    return result(True, "subscriber saved")


lambda_handler = handler(app)
