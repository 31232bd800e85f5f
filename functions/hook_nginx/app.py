"""POST|GET /hooks/{hookSecret}/nginx-rtmp: nginx-rtmp on_publish, on_play, on_*_done, on_update."""

from streamauth import priming
from streamauth.hooks import answer
from streamauth.http import ApiResponse, api, handler
from streamauth.models.hooks import parse_nginx

app = api()


@app.post("/hooks/<hookSecret>/nginx-rtmp")
@app.get("/hooks/<hookSecret>/nginx-rtmp")
def hook(hookSecret: str) -> ApiResponse:  # noqa: N803 - the path parameter
    return answer(app, hookSecret, parse_nginx, json=False)  # a form body, or the query (notify_method get)


lambda_handler = handler(app)
# SnapStart: imports and builds before the snapshot, refreshes after a restore (streamauth/priming.py)
priming.snapstart("streamauth.service.access", reads=(priming.HOOK_SECRET,))
