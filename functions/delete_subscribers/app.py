"""DELETE /v2/broadcasts/{id}/subscribers (and /<AppName>/rest/v2/...): remove every subscriber of
the stream; success false when it had none (Ant Media's revokeSubscribers)."""

from streamauth.http import ApiResponse, ant_media_result, api, handler
from streamauth.models.common import parse_stream_id
from streamauth.models.principals import SCOPE_SUBSCRIBERS_WRITE
from streamauth.service.subscribers import subscriber_service

app = api(scope=SCOPE_SUBSCRIBERS_WRITE, ant_media=True)


@app.delete("/v2/broadcasts/<id>/subscribers")
def delete_subscribers(id: str) -> ApiResponse:
    count = subscriber_service().delete_all(parse_stream_id(id))
    return ant_media_result(count > 0)


lambda_handler = handler(app)
