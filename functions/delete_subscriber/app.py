"""DELETE /v2/broadcasts/{id}/subscribers/{sid}: Result, success false when unknown."""

from streamauth.auth import SCOPE_SUBSCRIBERS_WRITE
from streamauth.http import ApiResponse, api, handler, result
from streamauth.models.subscribers import parse_subscriber_path
from streamauth.service.subscribers import subscriber_service

app = api(scope=SCOPE_SUBSCRIBERS_WRITE)


@app.delete("/v2/broadcasts/<id>/subscribers/<sid>")
def delete_subscriber(id: str, sid: str) -> ApiResponse:
    stream_id, subscriber_id = parse_subscriber_path(app.current_event.path_parameters)
    if subscriber_service().delete(stream_id, subscriber_id):
        return result(True, f"subscriber {subscriber_id} deleted")
    return result(False, f"no subscriber {subscriber_id} for stream {stream_id}")


lambda_handler = handler(app)
