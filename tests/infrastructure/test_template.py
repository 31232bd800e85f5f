"""template.yaml: the shape the design card fixes, checked by cfn-lint and by assertion."""

from __future__ import annotations

import json
import re
from typing import Any

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
    """The path in template.yaml and the path the function's resolver routes must agree (Ant Media's
    form, `/{app}/rest/v2/...`, reaches the resolver without its prefix: streamauth.http)."""
    for route in tpl.routes():
        source = (tpl.functions()[route.function].code_uri / "app.py").read_text()
        rule = re.sub(r"\{([^}]+)\}", r"<\1>", route.path.removeprefix("/{app}/rest"))
        assert f'@app.{route.method.lower()}("{rule}")' in source, (route.function, rule)


def test_table_has_ttl_pitr_and_on_demand_billing() -> None:
    table = tpl.load()["Resources"]["StreamAuthTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_secrets_are_one_per_purpose_generated_never_defaulted() -> None:
    from localapi.keys import settings_names
    from streamauth.settings import SECRETS

    template = tpl.load()
    secrets = {
        n: r["Properties"] for n, r in template["Resources"].items() if r["Type"] == "AWS::SecretsManager::Secret"
    }
    assert len(secrets) == len(SECRETS)  # one secret per purpose the layer knows
    purposes = settings_names(template)
    assert set(purposes) == set(secrets)  # each reaches the functions through its SECRETS variable
    documents = {
        "mediaServers": {"servers": []},
        "cloudFront": {"privateKey": "", "keyPairId": ""},
        "signingKeys": {"keys": []},  # filled by the first rotation (CloudFormation cannot make an EC key)
        "publicSigningKeys": {"keys": []},
    }
    for name, secret in secrets.items():
        if SECRETS[purposes[name]].document:  # configuration, or a key CloudFormation cannot make: starts empty
            assert json.loads(secret["SecretString"]) == documents[purposes[name]], name
            assert "GenerateSecretString" not in secret, name
            continue
        assert "GenerateSecretString" in secret and "SecretString" not in secret, name
        generated = secret["GenerateSecretString"]
        assert generated["PasswordLength"] >= 32 and generated["SecretStringTemplate"] == "{}", name
    for name, parameter in template.get("Parameters", {}).items():
        # a parameter named like a secret has no default, or an empty one (CloudFrontKeyPairId: an ID, off by default)
        assert not re.search(r"secret|key|password", name, re.I) or parameter.get("Default", "") == "", name
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
    hooks = {"NginxHookFunction", "SrsHookFunction", "MediaMtxHookFunction", "AntMediaHookFunction", "HttpHookFunction"}
    cdn = "CloudFrontPlaybackFunction"  # admits play credentials like a hook, without the hook secret
    assert readers["OperatorJwtSecret"] == {"OperatorAuthorizerFunction"}
    assert readers["HookSecret"] == hooks
    assert readers["SubscriberSecret"] == hooks | {
        "CreateSubscriberFunction",
        "SubscriberTotpFunction",
        "VerifySubscriberCodeFunction",
        cdn,
    }
    assert readers["PushSecret"] == {"PushTokenFunction"}
    assert readers["ServiceAccountSecret"] == {
        "OperatorAuthorizerFunction",
        "CreateServiceAccountFunction",
        "RotateServiceAccountFunction",
    }
    assert readers["StreamJwtSecret"] == hooks | {"IssueJwtTokenFunction", "ValidateTokenFunction", cdn}
    assert readers["ViewerJwtSecret"] == hooks | {"CreateViewerTokenFunction", "OperatorAuthorizerFunction", cdn}
    # media servers' API credentials: the enforcer, and the key rotation (MediaMTX JWKS refresh)
    assert readers["MediaServersSecret"] == {"SessionEnforcerFunction", "SigningKeyRotationFunction"}
    assert readers["CloudFrontKeySecret"] == {cdn}  # the CloudFront private key
    # ES256: private keys only where tokens are signed; verifiers and the public JWKS get public keys only
    signers = {"IssueJwtTokenFunction", "CreateViewerTokenFunction", "MediaMtxTokenFunction"}
    assert readers["SigningKeysSecret"] == signers
    verifiers = hooks | {"ValidateTokenFunction", "OperatorAuthorizerFunction", cdn, "JwksFunction"}
    assert readers["PublicSigningKeysSecret"] == verifiers | {"ListSigningKeysFunction"}  # the keys' states and times


def test_the_session_enforcer_gets_only_the_changes_that_end_sessions_and_never_loses_one() -> None:
    """Its own stream mapping: filtered to stream, subscriber and session changes, partial batch
    responses, bisected and retried, then parked in the dead-letter queue."""
    function = tpl.load()["Resources"]["SessionEnforcerFunction"]["Properties"]
    (source,) = function["Events"].values()
    assert source["Type"] == "DynamoDB"
    props = source["Properties"]
    assert props["Stream"] == {"Fn::GetAtt": ["StreamAuthTable", "StreamArn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True and 0 < props["MaximumRetryAttempts"] <= 10
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}
    patterns = [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]]
    kinds = {
        (image, p["dynamodb"][image]["kind"]["S"][0])
        for p in patterns
        for image in ("NewImage", "OldImage")
        if isinstance(p["dynamodb"].get(image, {}).get("kind", {}).get("S", [None])[0], str)
    }
    assert kinds == {
        ("NewImage", "stream"),
        ("NewImage", "subscriber"),
        ("OldImage", "subscriber"),
        ("NewImage", "session"),
        ("OldImage", "session"),
    }
    assert len(patterns) <= 5  # Lambda's default quota of filters per event source mapping
    assert function["Environment"]["Variables"]["DEAD_LETTER_QUEUE_URL"] == {"Ref": "EventsDeadLetterQueue"}


def test_authorizer_cache_is_at_most_60_seconds() -> None:
    for authorizer in tpl.authorizers().values():
        assert 0 < authorizer.ttl <= 60


def test_no_log_event_anywhere() -> None:
    for path in [*ROOT.glob("functions/*/app.py"), *ROOT.glob("layers/streamauth/streamauth/**/*.py")]:
        assert "log_event=True" not in path.read_text(), path


def _resources(kind: str) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in tpl.load()["Resources"].items() if r["Type"] == kind}


def test_operable_on_day_one_alarms_for_dead_letters_5xx_hook_secret_refusals_and_throttles() -> None:
    alarms = {r["Properties"]["MetricName"]: r["Properties"] for r in _resources("AWS::CloudWatch::Alarm").values()}
    assert set(alarms) == {"ApproximateNumberOfMessagesVisible", "5XXError", "HookSecretRefused", "ThrottledRequests"}
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == {
            "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        }
        assert alarm["TreatMissingData"] == "notBreaching"
    assert tpl.load()["Parameters"]["AlarmTopicArn"]["Default"] == ""


def test_the_dashboard_shows_what_an_operator_needs() -> None:
    (dashboard,) = _resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"])
    for needle in (
        "AccessAllowed",
        "AccessRefused_",
        "HookSecretRefused",
        "p50",
        "p99",
        "Errors",
        "Throttles",
        "ColdStart",
        "ThrottledRequests",
        "ApproximateNumberOfMessagesVisible",
        "5XXError",
    ):
        assert needle in body, needle


def test_logs_are_kept_for_the_retention_parameter_and_never_hold_the_hook_secret() -> None:
    template = tpl.load()
    assert template["Globals"]["Function"]["LoggingConfig"]["LogGroup"] == {"Ref": "FunctionsLogGroup"}
    for group in _resources("AWS::Logs::LogGroup").values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    api = template["Resources"]["StreamAuthApi"]["Properties"]
    settings = api["MethodSettings"][0]
    assert settings["DataTraceEnabled"] is False and settings["LoggingLevel"] == "OFF"
    access = api["AccessLogSetting"]["Fn::If"][1]["Format"]
    assert "$context.resourcePath" in access and "$context.path" not in access
    (sampling,) = _resources("AWS::XRay::SamplingRule").values()
    rule = sampling["Properties"]["SamplingRule"]
    assert rule["URLPath"] == "*/hooks/*" and rule["FixedRate"] == 0 and rule["ReservoirSize"] == 0


def test_hooks_take_only_the_media_servers_addresses_when_the_operator_says_so() -> None:
    statements = tpl.load()["Resources"]["StreamAuthApi"]["Properties"]["Auth"]["ResourcePolicy"]["CustomStatements"]
    deny = next(s for s in statements if s["Effect"] == "Deny")
    assert deny["Resource"] == "execute-api:/*/*/hooks/*"
    assert deny["Condition"] == {"NotIpAddress": {"aws:SourceIp": {"Ref": "HookSourceCidrs"}}}


def test_an_optional_waf_rate_limits_viewer_tokens_per_client_address() -> None:
    (acl,) = _resources("AWS::WAFv2::WebACL").values()
    assert acl["Condition"] == "WafEnabled"
    (rule,) = acl["Properties"]["Rules"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "IP" and rate["Limit"] == {"Ref": "WafViewerTokenRatePerIp"}
    assert rate["ScopeDownStatement"]["ByteMatchStatement"]["SearchString"] == "/api/v1/tokens"
    (association,) = _resources("AWS::WAFv2::WebACLAssociation").values()
    assert association["Condition"] == "WafEnabled"


def test_the_dead_letter_queue_takes_only_the_consumer_rules_failures() -> None:
    (policy,) = _resources("AWS::SQS::QueuePolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert "aws:SourceArn" in statement["Condition"]["ArnEquals"]


def test_ant_medias_path_form_mirrors_its_own_endpoints_only() -> None:
    """`/{app}/rest/v2/...` is routed for each of Ant Media's endpoints, to the function of its
    `/v2/...` twin, with the same authorizer; streamauth's own routes have no such form."""
    routes = {(r.method, r.path): r for r in tpl.routes()}
    mirrored = {key: r for key, r in routes.items() if key[1].startswith("/{app}/rest/")}
    assert len(mirrored) == 12
    for (method, path), route in mirrored.items():
        twin = routes[(method, path.removeprefix("/{app}/rest"))]
        assert (route.function, route.authorizer) == (twin.function, twin.authorizer) and route.authorizer
    own = ("/sessions", "/playback", "/mediamtx-token", "/verify", "/unblock", "/block", "/api/v1/", "/hooks/")
    assert not [path for _, path in mirrored if path.endswith(own[:-2]) or any(o in path for o in own[-2:])]
    assert "AntMediaAppName" in tpl.load()["Parameters"]
