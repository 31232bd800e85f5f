"""POST /api/v1/service-accounts: a new service account; its key is shown once, in this reply."""

from streamauth import clock
from streamauth.http import ApiResponse, api, handler, json_body, json_response, principal
from streamauth.models.accounts import CreateAccountRequest
from streamauth.models.principals import SCOPE_ACCOUNTS_WRITE
from streamauth.service.accounts import account_service

app = api(scope=SCOPE_ACCOUNTS_WRITE)


@app.post("/api/v1/service-accounts")
def create_service_account() -> ApiResponse:
    account, key = account_service().create(CreateAccountRequest.parse(json_body(app)), clock.now(), principal(app))
    return json_response(201, {**account.to_dict(), "key": key})


lambda_handler = handler(app)
