"""DELETE /api/v1/service-accounts/{id}: revoke the account and its key."""

from streamauth.errors import NotFound
from streamauth.http import ApiResponse, api, handler, result
from streamauth.models.accounts import parse_account_id
from streamauth.models.principals import SCOPE_ACCOUNTS_WRITE
from streamauth.service.accounts import account_service

app = api(scope=SCOPE_ACCOUNTS_WRITE)


@app.delete("/api/v1/service-accounts/<id>")
def delete_service_account(id: str) -> ApiResponse:
    account_id = parse_account_id(id)
    if not account_service().delete(account_id):
        raise NotFound(f"no service account {account_id}")
    return result(True, f"service account {account_id} is revoked")


lambda_handler = handler(app)
