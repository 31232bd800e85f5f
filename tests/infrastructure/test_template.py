"""template.yaml: the shape the design card fixes, checked by cfn-lint and by assertion."""

from __future__ import annotations

import json
import re

from localapi import template as tpl
from tests.conftest import EVENTS, ROOT


def test_cfn_lint_is_clean() -> None:
    from cfnlint.api import lint_file

    matches = lint_file(tpl.TEMPLATE)
    assert [str(m) for m in matches] == []


def test_globals_pin_runtime_and_powertools() -> None:
    fn = tpl.load()["Globals"]["Function"]
    assert fn["Runtime"] == "python3.12" and fn["Architectures"] == ["arm64"] and fn["MemorySize"] == 128
    env = fn["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] and env["POWERTOOLS_METRICS_NAMESPACE"]
    assert env["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"


def test_one_function_per_endpoint_each_with_code_and_sample_event() -> None:
    routes = tpl.routes()
    per_function: dict[str, int] = {}
    for route in routes:
        per_function[route.function] = per_function.get(route.function, 0) + 1
    functions = tpl.functions()
    for name, function in functions.items():
        assert (function.code_uri / "app.py").is_file(), name
    assert len({(r.method, r.path) for r in routes}) == len(routes)
    samples = {p.stem for p in EVENTS.glob("*.json")}
    for name, function in functions.items():
        assert function.code_uri.name in samples, f"events/{function.code_uri.name}.json missing for {name}"


def test_every_route_matches_the_handlers_own_rule() -> None:
    """The path in template.yaml and the path the function's resolver routes must agree."""
    for route in tpl.routes():
        source = (tpl.functions()[route.function].code_uri / "app.py").read_text()
        rule = re.sub(r"\{([^}]+)\}", r"<\1>", route.path)
        assert f'@app.{route.method.lower()}("{rule}")' in source, (route.function, rule)


def test_table_has_ttl_pitr_and_on_demand_billing() -> None:
    table = tpl.load()["Resources"]["StreamAuthTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_secrets_are_one_per_purpose_generated_never_defaulted() -> None:
    from streamauth.settings import SECRETS

    template = tpl.load()
    secrets = {
        n: r["Properties"] for n, r in template["Resources"].items() if r["Type"] == "AWS::SecretsManager::Secret"
    }
    assert len(secrets) == len(SECRETS)  # one secret per purpose the layer knows
    for name, secret in secrets.items():
        assert "GenerateSecretString" in secret and "SecretString" not in secret, name
        generated = secret["GenerateSecretString"]
        assert generated["PasswordLength"] >= 32 and generated["SecretStringTemplate"] == "{}", name
    for name, parameter in template.get("Parameters", {}).items():
        assert not re.search(r"secret|key|password", name, re.I) or "Default" not in parameter, name
    assert not re.search(r"[A-Za-z0-9]{32,}", json.dumps(template.get("Parameters", {})))  # no key material


def test_each_function_reads_only_the_secrets_its_purpose_needs() -> None:
    """The operator key only in the authorizer, the hook secret only in the hooks, the subscriber
    seal key only where subscriber secrets are used, and so on."""
    template = tpl.load()
    readers: dict[str, set[str]] = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for policy in resource["Properties"].get("Policies", []):
            if isinstance(policy, dict) and "Ref" in policy and policy["Ref"].startswith("Read"):
                readers.setdefault(policy["Ref"].removeprefix("Read").removesuffix("Policy"), set()).add(name)
    hooks = {"NginxHookFunction", "SrsHookFunction", "MediaMtxHookFunction", "AntMediaHookFunction"}
    assert readers["OperatorJwtSecret"] == {"OperatorAuthorizerFunction"}
    assert readers["HookSecret"] == hooks
    assert readers["SubscriberSecret"] == hooks | {
        "CreateSubscriberFunction",
        "SubscriberTotpFunction",
        "VerifySubscriberCodeFunction",
    }
    assert readers["PushSecret"] == {"PushTokenFunction"}
    assert readers["ServiceAccountSecret"] == {
        "OperatorAuthorizerFunction",
        "CreateServiceAccountFunction",
        "RotateServiceAccountFunction",
    }
    assert readers["StreamJwtSecret"] == hooks | {"IssueJwtTokenFunction", "ValidateTokenFunction"}
    assert readers["ViewerJwtSecret"] == hooks | {"CreateViewerTokenFunction", "OperatorAuthorizerFunction"}


def test_authorizer_cache_is_at_most_60_seconds() -> None:
    for authorizer in tpl.authorizers().values():
        assert 0 < authorizer.ttl <= 60


def test_no_log_event_anywhere() -> None:
    for path in [*ROOT.glob("functions/*/app.py"), *ROOT.glob("layers/streamauth/streamauth/**/*.py")]:
        assert "log_event=True" not in path.read_text(), path
