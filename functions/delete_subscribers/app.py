"""DELETE /v2/broadcasts/{id}/subscribers: remove every subscriber of the stream."""

from streamauth.http import ApiResponse, api, handler, result
from streamauth.models.common import parse_stream_id
from streamauth.models.principals import SCOPE_SUBSCRIBERS_WRITE
from streamauth.service.subscribers import subscriber_service

app = api(scope=SCOPE_SUBSCRIBERS_WRITE)


@app.delete("/v2/broadcasts/<id>/subscribers")
def delete_subscribers(id: str) -> ApiResponse:
    stream_id = parse_stream_id(id)
    count = subscriber_service().delete_all(stream_id)
    return result(True, f"{count} subscribers of stream {stream_id} deleted")


lambda_handler = handler(app)
