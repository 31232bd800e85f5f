"""POST /api/v1/service-accounts/{id}/rotate: a new key, shown once; the old one stops working."""

from streamauth.http import ApiResponse, api, handler, json_response, principal
from streamauth.models.accounts import parse_account_id
from streamauth.models.principals import SCOPE_ACCOUNTS_WRITE
from streamauth.service.accounts import account_service

app = api(scope=SCOPE_ACCOUNTS_WRITE)


@app.post("/api/v1/service-accounts/<id>/rotate")
def rotate_service_account(id: str) -> ApiResponse:
    account, key = account_service().rotate(parse_account_id(id), principal(app))
    return json_response(200, {**account.to_dict(), "key": key})


lambda_handler = handler(app)
