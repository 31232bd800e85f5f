"""A query parameter given more than once is a 400 naming it, not silently its last value (API
Gateway passes only the last one in `queryStringParameters`): the fuzzer's stateful phase sent
`notBefore=true&...&notBefore=` and a token with no notBefore came back."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import T0, Aws, FakeClock, call, event

FUTURE = str(int(T0) + 3600)


def issue(function: str, sample: str, multi: dict[str, list[str]]) -> Any:
    evt = event(
        sample,
        pathParameters={"id": "cam1"},
        queryStringParameters={name: values[-1] for name, values in multi.items()},  # as API Gateway does
        multiValueQueryStringParameters=multi,
    )
    return call(function, evt)


@pytest.mark.parametrize(
    ("function", "sample"), [("IssueTokenFunction", "issue_token"), ("IssueJwtTokenFunction", "issue_jwt_token")]
)
@pytest.mark.parametrize(
    "repeated",
    [
        {"notBefore": [str(int(T0) + 60), ""]},  # the last one empty: it would have meant no notBefore
        {"allowCidrs": ["203.0.113.0/24", "198.51.100.0/24"]},  # the last one would have widened nothing, but which?
        {"type": ["publish", "play"]},
        {"maxSessions": ["2", "2"]},  # the same value twice is still two
    ],
)
def test_a_token_parameter_given_twice_is_a_400_naming_it(
    aws: Aws, clock: FakeClock, function: str, sample: str, repeated: dict[str, list[str]]
) -> None:
    multi = {"expireDate": [FUTURE], "type": ["play"], **repeated}
    reply = issue(function, sample, multi)
    (name,) = repeated
    assert reply.status == 400, reply.body
    assert name in reply.body["message"] and "more than once" in reply.body["message"]


def test_each_parameter_once_is_issued(aws: Aws, clock: FakeClock) -> None:
    multi = {
        "expireDate": [FUTURE],
        "type": ["play"],
        "notBefore": [str(int(T0) + 60)],
        "allowCidrs": ["203.0.113.0/24"],
    }
    assert issue("IssueJwtTokenFunction", "issue_jwt_token", multi).status == 200
    assert issue("IssueTokenFunction", "issue_token", multi).status == 200
