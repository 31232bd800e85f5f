"""`make fuzz`: schemathesis against the local API, every operation of openapi.yaml.

    python -m localapi.fuzz [--examples N] [--seed S]

Starts `python -m localapi run` on a free port (as `make run` does), fuzzes it with an
operator JWT and the local hook secret (so the media-server hooks are fuzzed past their
secret check, which the tests cover), and exits with schemathesis' status. Checks: no 5xx,
documented status codes, JSON content types, responses matching their schemas, and the spec
and the request models agreeing both ways: data the spec allows is not refused as malformed
(`positive_data_acceptance`), data it forbids is refused (`negative_data_rejection`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from localapi import keys
from localapi.runtime import launched
from localapi.template import ROOT

LOG = ROOT / ".build" / "fuzz-server.log"  # the local API's output: look here for a 5xx's traceback
CONFIG = ROOT / ".build" / "schemathesis.toml"  # written per run: it holds the local hook secret
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "positive_data_acceptance",
        "negative_data_rejection",
    )
)
# What a request the spec forbids may be answered: schemathesis' defaults, plus the gateway's
# own refusals of what is too large (413 body, 414 URL, 431 headers), which are rejections too.
NEGATIVE_DATA_STATUSES = (400, 401, 403, 404, 405, 406, 409, 413, 414, 415, 422, 428, 429, 431)
# What a request the spec allows may be answered (schemathesis' defaults): success, or a
# business outcome that is no judgement of its shape: no/invalid credentials (401), refused by
# a rule (403: a closed stream, a wrong credential, a scope), unknown item (404), conflict (409),
# rate limited (429). Never 400, 413, 414, 415 or 431: the shape was the spec's own.
POSITIVE_DATA_STATUSES = ("2xx", "3xx", 401, 403, 404, 409, 429)


def operator_jwt() -> str:
    out = subprocess.run(
        [sys.executable, "-m", "localapi", "admin-token"], cwd=ROOT, check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def _statuses(statuses: tuple[int | str, ...]) -> str:
    return "[" + ", ".join(f'"{status}"' for status in statuses) + "]"


# An access policy's networks are CIDR without host bits (10.0.0.1/8 is a 400 naming 10.0.0.0/8,
# README "Access policies"), which no pattern can say: tests/infrastructure/test_openapi.py holds
# pattern and parser equal on every other value and these refused. A code in both allowCountries
# and denyCountries is a 400 (a relation between two fields): denyCountries is sent empty, its
# values are the pattern test's.
POLICY_PINNED: tuple[tuple[str, list[str]], ...] = (
    ("allowCidrs", ["203.0.113.0/24", "2001:db8::/32"]),
    ("denyCidrs", ["203.0.113.128/25"]),
    ("denyCountries", []),
)

# What openapi.yaml cannot say, one value each, for the operation it concerns (nothing else of
# it is pinned): a body's `streamId` must be the path's `id` (a relation between two parts of a
# request), so createSubscriber's is sent empty, which means "the path's"; and `type` is needed
# for a subscriber that is not registered (a fact of the store), so subscriberTotp always says it.
Pinned = str | int | list[str] | dict[str, list[str]]
PINNED: tuple[tuple[str, str, Pinned], ...] = (
    ("subscriberTotp", "query.type", "play"),
    ("antMediaSubscriberTotp", "query.type", "play"),
    # a policy's networks and denied countries (POLICY_PINNED), as a token's query and a stream's body
    *(
        (operation, f"query.{name}", ",".join(values))
        for operation in ("issueToken", "issueJwtToken")
        for name, values in POLICY_PINNED
    ),
    *(("setStreamPolicy", f"body.{name}", values) for name, values in POLICY_PINNED),
    # a viewer token's own policy (a body field): the same networks, as one object
    ("createViewerToken", "body.policy", dict(POLICY_PINNED)),
    # a decision-log cursor is valid only as a listing handed it out (a hash over its position
    # and query), which no pattern can say: the first page; the tests hold the tampered ones
    ("listDecisions", "query.next", ""),
    ("listSessionDecisions", "query.next", ""),
)
# Ant Media's Result endpoints answer a field they refuse as Ant Media does: 200 `success: false`
# naming the field (README, "Migrating from Ant Media"); only a body that is not a JSON object is
# a 4xx. So for them a refusal is a 200 too (tests/integration hold the field-by-field refusals).
_ANT_MEDIA_RESULTS = ("validateToken", "revokeTokens", "createSubscriber", "deleteSubscribers", "deleteSubscriber")
ANT_MEDIA_RESULTS = tuple(
    operation
    for name in (*_ANT_MEDIA_RESULTS, "blockSubscriberPath", "subscriberTotp", "pushToken")
    for operation in (name, "antMedia" + name[0].upper() + name[1:])
)
# A MediaMTX token's expireDate lies between now and now + SignedTokenMaxSeconds, measured when
# the request arrives: a window that moves while the fuzzer holds the spec, so no bound in it is
# both always accepted below and always refused above (the negative check drew the served
# maximum + 1 minutes later, and the server rightly took it). It is pinned an hour or two ahead;
# tests/integration/test_signing_keys.py holds the bounds.
AHEAD_PINNED = (("issueMediaMtxToken", "query.expireDate", 7200),)


def _toml(value: Pinned) -> str:
    """A pinned value in TOML, of its own type (a JSON string or list is TOML too; an object is an
    inline table)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(key)} = {json.dumps(item)}" for key, item in value.items()) + " }"
    return json.dumps(value)


def write_config() -> Path:
    """Every `{hookSecret}` in a generated request is the local API's real one; the PINNED
    values; the expected statuses of the two data checks."""
    hook_secret = keys.key_of(keys.local_secret_strings(), "hookSecret")
    CONFIG.parent.mkdir(parents=True, exist_ok=True)
    now = int(time.time())
    # An integer is written as one: pinned as the string "1796633457", a negative case whose only
    # fault was an unknown query parameter read as also breaking `type: integer`, and its 200 as
    # a schema-violating request accepted (CI, stop 26).
    values: list[tuple[str, str, Pinned]] = [
        *PINNED,
        *((operation, name, now + ahead) for operation, name, ahead in AHEAD_PINNED),
    ]
    by_operation: dict[str, list[tuple[str, Pinned]]] = {}
    for operation, name, value in values:
        by_operation.setdefault(operation, []).append((name, value))
    pinned = "".join(
        f'\n[[operations]]\ninclude-operation-id = "{operation}"\nparameters = {{ '
        + ", ".join(f'"{name}" = {_toml(value)}' for name, value in pairs)
        + " }\n"
        for operation, pairs in by_operation.items()
    ) + "".join(
        f'\n[[operations]]\ninclude-operation-id = "{operation}"\n'
        f"checks.negative_data_rejection.expected-statuses = {_statuses((200, *NEGATIVE_DATA_STATUSES))}\n"
        for operation in ANT_MEDIA_RESULTS
    )
    CONFIG.write_text(
        "[parameters]\n"
        f'"path.hookSecret" = "{hook_secret}"\n'
        "\n[checks.positive_data_acceptance]\n"
        f"expected-statuses = {_statuses(POSITIVE_DATA_STATUSES)}\n"
        "\n[checks.negative_data_rejection]\n"
        f"expected-statuses = {_statuses(NEGATIVE_DATA_STATUSES)}\n" + pinned
    )
    CONFIG.chmod(0o600)  # it holds a (local) secret
    return CONFIG


def run(examples: int, seed: int, extra: list[str] | None = None) -> int:
    with launched(LOG) as api:
        url = api.url
        command = [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(write_config()),
            "run",
            f"{url}/openapi.json",
            "--url",
            url,
            "--checks",
            CHECKS,
            "--header",
            f"Authorization: Bearer {operator_jwt()}",
            "--max-examples",
            str(examples),
            "--seed",
            str(seed),
            "--suppress-health-check",
            "all",
            *(extra or []),
        ]
        return subprocess.run(command, cwd=ROOT, check=False).returncode


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m localapi.fuzz")
    parser.add_argument("--examples", type=int, default=100, help="examples per operation")
    parser.add_argument("--seed", type=int, default=20261123)
    args, extra = parser.parse_known_args()
    sys.exit(run(args.examples, args.seed, extra))


if __name__ == "__main__":
    main()
