"""GET /api/v1/service-accounts: id, name, scopes, created, last used; never a key."""

from streamauth.http import ApiResponse, api, handler, json_response
from streamauth.models.principals import SCOPE_ACCOUNTS_WRITE
from streamauth.service.accounts import account_service

app = api(scope=SCOPE_ACCOUNTS_WRITE)


@app.get("/api/v1/service-accounts")
def list_service_accounts() -> ApiResponse:
    return json_response(200, [account.to_dict() for account in account_service().list()])


lambda_handler = handler(app)
