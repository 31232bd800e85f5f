"""POST /v2/broadcasts/{id}/subscribers: create or replace; a generated b32Secret is returned once, in dataId."""

from streamauth.auth import SCOPE_SUBSCRIBERS_WRITE
from streamauth.http import ApiResponse, api, handler, json_body, result
from streamauth.models.common import parse_stream_id
from streamauth.models.subscribers import CreateSubscriberRequest
from streamauth.service.subscribers import subscriber_service

app = api(scope=SCOPE_SUBSCRIBERS_WRITE)


@app.post("/v2/broadcasts/<id>/subscribers")
def create_subscriber(id: str) -> ApiResponse:
    stream_id = parse_stream_id(app.current_event.path_parameters.get("id"))
    request = CreateSubscriberRequest.parse(stream_id, json_body(app))
    generated = subscriber_service().create(request)
    if generated:
        return result(True, "subscriber saved; its generated b32Secret is in dataId and is shown only now", generated)
    return result(True, "subscriber saved")


lambda_handler = handler(app)
