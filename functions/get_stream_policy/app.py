"""GET /v2/broadcasts/{id}/policy: the stream's access policy (null: none)."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, json_response
from streamauth.models.common import parse_stream_id
from streamauth.models.principals import SCOPE_READ
from streamauth.service.streams import stream_service

app = api(scope=SCOPE_READ)


@app.get("/v2/broadcasts/<id>/policy")
def get_stream_policy(id: str) -> ApiResponse:
    stream_id = parse_stream_id(id)
    policy = stream_service().policy(stream_id, clock.now())
    return json_response(200, {"streamId": stream_id, "policy": policy.to_dict() if policy is not None else None})


lambda_handler = handler(app)
