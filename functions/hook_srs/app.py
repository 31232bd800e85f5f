"""POST /hooks/{hookSecret}/srs: SRS http_hooks (on_publish, on_play, on_unpublish, on_stop)."""

from streamauth import priming
from streamauth.hooks import answer
from streamauth.http import ApiResponse, api, handler
from streamauth.models.hooks import parse_srs

app = api()


@app.post("/hooks/<hookSecret>/srs")
def hook(hookSecret: str) -> ApiResponse:  # noqa: N803 - the path parameter
    return answer(app, hookSecret, parse_srs)


lambda_handler = handler(app)
# SnapStart: imports and builds before the snapshot, refreshes after a restore (streamauth/priming.py)
priming.snapstart("streamauth.service.access", reads=(priming.HOOK_SECRET,))
