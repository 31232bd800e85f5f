"""IAM proven by tests: every AWS call a function makes is allowed by the role template.yaml
gives it, and what AWS services do for the stack (EventBridge's dead letters, Lambda's
destinations and stream reads) is allowed too.

The machinery is localapi.iam. It is enforced in every in-process test (tests/conftest.py:
a handler's denied call fails as AccessDenied does in AWS, and fails its test) and in the
local API (each worker), and the run ends with a report of the grants no call used. Here:
each function on its sample event in a fresh execution environment, the service-side
accesses, and proofs that removing a needed permission is caught.
"""

from __future__ import annotations

import copy
import inspect
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from localapi import iam
from localapi import template as tpl
from tests.conftest import Aws, FakeClock, LambdaContext, event, load_function, reset_layer_state

FUNCTIONS = sorted(tpl.functions())
DATA_SERVICES = ("dynamodb:", "secretsmanager:", "sqs:", "events:", "sns:", "kms:", "s3:", "lambda:")


def sample_event(function: str) -> dict[str, Any]:
    return event(tpl.functions()[function].code_uri.name)


def run_sample(function: str, policy: iam.RolePolicy | None = None) -> tuple[Any, iam.Active, iam.Recorder]:
    """The function on its sample event in a fresh execution environment (nothing cached from
    another function), under its template role or `policy`; calls recorded apart."""
    reset_layer_state()
    recorder = iam.Recorder()
    handler = inspect.unwrap(load_function(function).lambda_handler)
    with iam.acting_as(function, policy or iam.role_policy(function, iam.current_deployment()), recorder) as active:
        assert active is not None
        try:
            reply = handler(sample_event(function), LambdaContext(function_name=function))
        except Exception as exc:  # a handler that raises (as Lambda reports it)
            reply = exc
    return reply, active, recorder


def grants_action(statement: dict[str, Any], action: str) -> bool:
    actions = statement.get("Action", [])
    return any(iam.action_matches(a, action) for a in (actions if isinstance(actions, list) else [actions]))


def without_grant(template: dict[str, Any], function: str, action: str) -> dict[str, Any]:
    """A copy of `template` whose `function` no longer gets `action` from its Policies: the
    action leaves inline statements, and SAM policy templates or !Ref'd managed policies that
    grant it are dropped."""
    from samtranslator.policy_template_processor.processor import (  # type: ignore[import-untyped]
        PolicyTemplatesProcessor,
    )

    sam_templates = PolicyTemplatesProcessor.get_default_policy_templates_json()["Templates"]
    changed = copy.deepcopy(template)
    resources = changed["Resources"]
    kept: list[Any] = []
    for entry in resources[function]["Properties"]["Policies"]:
        if isinstance(entry, dict) and "Statement" in entry:
            listed = entry["Statement"] if isinstance(entry["Statement"], list) else [entry["Statement"]]
            for statement in listed:
                if grants_action(statement, action):
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    statement["Action"] = [a for a in actions if not iam.action_matches(a, action)]
            entry["Statement"] = [s for s in listed if s.get("Action")]
            if entry["Statement"]:
                kept.append(entry)
            continue
        if isinstance(entry, dict) and len(entry) == 1 and next(iter(entry)) in sam_templates:
            definition = sam_templates[next(iter(entry))]["Definition"]["Statement"]
            if any(grants_action(s, action) for s in definition):
                continue
        if isinstance(entry, dict) and resources.get(entry.get("Ref", ""), {}).get("Type") == "AWS::IAM::ManagedPolicy":
            document = resources[entry["Ref"]]["Properties"]["PolicyDocument"]["Statement"]
            if any(grants_action(s, action) for s in (document if isinstance(document, list) else [document])):
                continue
        kept.append(entry)
    assert kept != template["Resources"][function]["Properties"]["Policies"], f"{function} has no {action} to remove"
    resources[function]["Properties"]["Policies"] = kept
    return changed


# -- every function's role ------------------------------------------------------------------


NEEDS_NO_AWS = {"ApiDocsFunction", "ConsoleFunction"}  # serve files they were built with


def test_every_function_role_expands_from_the_template() -> None:
    """SAM policy templates, inline statements, managed policies: all expand, nothing unresolved."""
    assert iam.function_ids() == FUNCTIONS
    for function in FUNCTIONS:
        policy = iam.role_policy(function)
        own = policy.grants()
        if function in NEEDS_NO_AWS:  # and gets nothing beyond its logs
            assert not own, f"{function} makes no AWS call, yet its Policies grant {own}"
        else:
            assert own, f"{function}'s Policies grant nothing"
        assert not [g for g in own if ":unresolved:" in g], own
        assert {s.source for s in policy.statements if s.aws_managed}, f"{function} lost SAM's basic execution role"


def test_every_kind_of_policies_entry_expands() -> None:
    """SAM policy template, inline statement, AWS managed policy (by name and by ARN), !Ref to
    an AWS::IAM::ManagedPolicy of the template, and an AWS::IAM::Policy attached to the role."""
    function = FUNCTIONS[0]
    template = copy.deepcopy(tpl.load())
    resources = template["Resources"]
    resources["ExtraSecret"] = {"Type": "AWS::SecretsManager::Secret", "Properties": {}}
    resources["ReadExtraSecret"] = {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": {"Ref": "ExtraSecret"}}
                ],
            }
        },
    }
    resources["AttachedPolicy"] = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "attached",
            "Roles": [{"Ref": f"{function}Role"}],
            "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sqs:GetQueueUrl", "Resource": "*"}]},
        },
    }
    resources[function]["Properties"]["Policies"] = [
        {"DynamoDBReadPolicy": {"TableName": {"Ref": "StreamAuthTable"}}},
        {
            "Statement": [
                {"Effect": "Allow", "Action": "events:PutEvents", "Resource": {"Fn::GetAtt": ["StreamAuthBus", "Arn"]}}
            ]
        },
        "AmazonSQSReadOnlyAccess",
        "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
        {"Ref": "ReadExtraSecret"},
    ]
    refs = {
        "StreamAuthTable": "t",
        "StreamAuthBus": "b",
        "ExtraSecret": "arn:aws:secretsmanager:us-east-1:123456789012:secret:extra-AbCdEf",
    }
    policy = iam.role_policy(function, refs, template)
    allowed = [
        ("dynamodb:Query", iam.table_arn("t")),
        ("events:PutEvents", iam.bus_arn("b")),
        ("sqs:GetQueueAttributes", "arn:aws:sqs:us-east-1:123456789012:q"),
        ("xray:PutTraceSegments", "*"),
        ("secretsmanager:GetSecretValue", refs["ExtraSecret"]),
        ("sqs:GetQueueUrl", "arn:aws:sqs:us-east-1:123456789012:q"),
    ]
    assert [a for a, r in allowed if not policy.decide(a, r).allowed] == []
    assert not policy.decide("dynamodb:PutItem", iam.table_arn("t")).allowed
    assert not policy.decide("events:PutEvents", iam.bus_arn("default")).allowed
    assert not policy.decide("sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:123456789012:q").allowed
    assert not policy.decide("secretsmanager:GetSecretValue", refs["ExtraSecret"] + "x").allowed
    assert "secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:123456789012:secret:${ExtraSecret}" in (
        policy.grants()
    )


@pytest.mark.parametrize("function", FUNCTIONS)
def test_sample_event_stays_within_the_role(aws: Aws, clock: FakeClock, function: str) -> None:
    """Each function on its sample event, with no key or client cached by another function (as
    in its own Lambda execution environment), makes only calls its role allows."""
    _, active, recorder = run_sample(function)
    iam.RECORDER.counts.update(recorder.counts)  # into the run's report
    assert active.denied == []
    assert all(r.allowed and r.grants for r in recorder.counts)


def test_no_role_grants_data_access_on_every_resource() -> None:
    """Grants of the template's own policies name their resources: a data action on "*" is
    how one function comes to read every secret or table."""
    broad = [
        f"{function}: {grant}"
        for function in FUNCTIONS
        for grant in iam.role_policy(function).grants()
        if grant.endswith(" on *") and grant.lower().startswith(DATA_SERVICES)
    ]
    assert broad == []


# -- what AWS services do for the stack -------------------------------------------------------


def test_services_may_do_what_the_stack_asks_of_them() -> None:
    accesses = iam.service_accesses()
    problems = [f"{a.description}: {a.principal} {a.action} on {a.resource} {a.reason}" for a in accesses if not a.ok]
    assert problems == []
    described = " | ".join(a.description for a in accesses)
    rules = tpl.event_rules()
    if rules:
        assert "invokes" in described
    template = json.dumps(tpl.load())
    if "DeadLetterConfig" in template:
        assert "sends dead letters to" in described and "only that rule (aws:SourceArn)" in described
    if "EventInvokeConfig" in template:
        assert "asynchronous invocations' OnFailure destination" in described
    if '"Type": "DynamoDB"' in template:
        assert "Lambda reads the event source" in described


# -- proofs: a missing permission is caught --------------------------------------------------


def test_proof_a_transaction_condition_check_needs_condition_check_item(aws: Aws) -> None:
    """The viewer-token defect: a TransactWriteItems with a ConditionCheck needs
    dynamodb:ConditionCheckItem, which SAM's DynamoDBWritePolicy lacks. The call, made through
    boto3 as the layer makes it, is AccessDenied under that role and goes through with it."""
    function = "CreateViewerTokenFunction" if "CreateViewerTokenFunction" in FUNCTIONS else FUNCTIONS[0]
    items = [
        {
            "ConditionCheck": {
                "TableName": aws.table_name,
                "Key": {"pk": {"S": "STREAM#s1"}, "sk": {"S": "META"}},
                "ConditionExpression": "attribute_not_exists(closed)",
            }
        },
        {
            "Update": {
                "TableName": aws.table_name,
                "Key": {"pk": {"S": "STREAM#s1"}, "sk": {"S": "VIEWERS#1"}},
                "UpdateExpression": "ADD hits :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
    ]

    def role_with(policy: dict[str, Any]) -> iam.RolePolicy:
        template = copy.deepcopy(tpl.load())
        template["Resources"][function]["Properties"]["Policies"] = [policy]
        return iam.role_policy(function, iam.current_deployment(), template)

    from botocore.exceptions import ClientError

    table = {"TableName": {"Ref": "StreamAuthTable"}}
    recorder = iam.Recorder()
    client = aws.client("dynamodb")
    write_policy = role_with({"DynamoDBWritePolicy": table})
    with iam.acting_as(function, write_policy, recorder) as active, pytest.raises(ClientError) as denied:
        client.transact_write_items(TransactItems=items)
    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert (
        f"is not authorized to perform: dynamodb:ConditionCheckItem on resource: {iam.table_arn(aws.table_name)}"
        in (error["Message"])
    )
    assert active is not None and len(active.denied) == 1 and "dynamodb:ConditionCheckItem" in active.denied[0]
    assert {(r.action, r.allowed) for r in recorder.counts} == {
        ("dynamodb:ConditionCheckItem", False),
        ("dynamodb:UpdateItem", True),
    }
    with iam.acting_as(function, role_with({"DynamoDBCrudPolicy": table})) as active:
        aws.client("dynamodb").transact_write_items(TransactItems=items)
    assert active is not None and active.denied == []


@pytest.mark.parametrize("function", FUNCTIONS)
def test_proof_removing_a_permission_the_function_uses_is_caught(aws: Aws, clock: FakeClock, function: str) -> None:
    """For each permission the function's sample run used: take it out of the function's
    Policies in template.yaml and run again; the call that needs it is denied (AccessDenied in
    the function, its test failed) and an API function answers with a 5xx (503 for the store).
    Grants SAM adds by itself (e.g. for a destination) cannot be taken out this way."""
    answered, active, recorder = run_sample(function)
    assert active.denied == []
    real = iam.role_policy(function, iam.current_deployment())
    removed = 0
    for action in sorted({r.action for r in recorder.counts}):
        try:
            template = without_grant(tpl.load(), function, action)
        except AssertionError:  # granted by SAM itself or an AWS managed policy
            continue
        broken = iam.role_policy(function, iam.current_deployment(), template)
        needed = [r for r in recorder.counts if r.action == action and not broken.decide(r.action, r.resource).allowed]
        if not needed:
            continue
        reply, active, rerun = run_sample(function, broken)
        refused = [r for r in rerun.counts if not r.allowed]
        for record in refused:  # each denial is of something the removal took away
            assert real.decide(record.action, record.resource).allowed, record
        if not refused:  # the rerun did not need it: a cache the layer keeps across invocations
            continue
        assert active.denied, f"{function} without {action}: a call was refused but not reported"
        # the decision log's write is best effort (service/decisions.py): denied, it is reported
        # above and the answer stands as decided; every other denial is the layer's 5xx
        log_write_only = {r.action for r in refused} == {"dynamodb:PutItem"} and reply == answered
        if isinstance(reply, dict) and "statusCode" in reply and not log_write_only:
            assert reply["statusCode"] >= 500, (action, reply)
        removed += 1
    assert removed or not recorder.counts, f"{function}: taking away what it used was never noticed"


def _without_queue_policies(template: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(template)
    changed["Resources"] = {
        name: res for name, res in changed["Resources"].items() if res.get("Type") != "AWS::SQS::QueuePolicy"
    }
    return changed


def test_proof_dead_letters_need_a_queue_policy_scoped_to_the_rule() -> None:
    """Without a queue policy EventBridge cannot park failed events (they would be lost); a
    policy without aws:SourceArn would let any rule, of any account, write to the queue."""
    missing = [a for a in iam.service_accesses(template=_without_queue_policies(tpl.load())) if not a.ok]
    assert any("sends dead letters" in a.description and a.action == "sqs:SendMessage" for a in missing), missing

    unscoped = copy.deepcopy(tpl.load())
    for res in unscoped["Resources"].values():
        if res.get("Type") == "AWS::SQS::QueuePolicy":
            for statement in res["Properties"]["PolicyDocument"]["Statement"]:
                statement.pop("Condition", None)
    loose = [a for a in iam.service_accesses(template=unscoped) if not a.ok]
    assert loose and all("only that rule (aws:SourceArn)" in a.description for a in loose)


@pytest.mark.parametrize("function", ["ChangePublisherFunction", "SessionEnforcerFunction"])
def test_proof_stream_on_failure_destination_needs_send_message(function: str) -> None:
    """The stream's on-failure destination is written by Lambda with the function's role."""
    broken = without_grant(tpl.load(), function, "sqs:SendMessage*")
    missing = [a for a in iam.service_accesses(template=broken) if not a.ok]
    assert [a.description for a in missing] == [
        a.description
        for a in iam.service_accesses()
        if "event source's OnFailure destination" in a.description and a.function == function
    ]
    assert all(a.action == "sqs:SendMessage" and a.function == function for a in missing)


# -- the machinery ------------------------------------------------------------------------------


def test_api_calls_map_to_the_iam_requests_aws_authorises() -> None:
    table, other = "t1", "t2"
    arn = iam.table_arn
    transact = {
        "TransactItems": [
            {"ConditionCheck": {"TableName": table, "Key": {}}},
            {"Put": {"TableName": table, "Item": {}}},
            {"Update": {"TableName": other, "Key": {}}},
            {"Delete": {"TableName": other, "Key": {}}},
        ]
    }
    assert [(r.action, r.resource) for r in iam.requests_for("dynamodb", "TransactWriteItems", transact)] == [
        ("dynamodb:ConditionCheckItem", arn(table)),
        ("dynamodb:PutItem", arn(table)),
        ("dynamodb:UpdateItem", arn(other)),
        ("dynamodb:DeleteItem", arn(other)),
    ]
    batch: dict[str, Any] = {"RequestItems": {table: {}, other: {}}}
    assert {r.resource for r in iam.requests_for("dynamodb", "BatchGetItem", batch)} == {arn(table), arn(other)}
    query = iam.requests_for("dynamodb", "Query", {"TableName": table, "IndexName": "byOwner"})
    assert query == [iam.Request("dynamodb:Query", f"{arn(table)}/index/byOwner")]
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hook-AbCdEf"
    assert iam.requests_for("secretsmanager", "GetSecretValue", {"SecretId": "hook"}, known_arns=[secret]) == [
        iam.Request("secretsmanager:GetSecretValue", secret)
    ]
    entries = {"Entries": [{"EventBusName": "bus"}, {"EventBusName": "bus"}, {}]}
    assert [r.resource for r in iam.requests_for("events", "PutEvents", entries)] == [
        "arn:aws:events:us-east-1:123456789012:event-bus/bus",
        "arn:aws:events:us-east-1:123456789012:event-bus/default",
    ]
    url = "http://127.0.0.1:5000/123456789012/dlq"
    assert iam.requests_for("sqs", "SendMessageBatch", {"QueueUrl": url}) == [
        iam.Request("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:dlq")
    ]


def test_conditions_fail_closed() -> None:
    rule = "arn:aws:events:us-east-1:123456789012:rule/bus/commands"
    arn_equals = {"ArnEquals": {"aws:SourceArn": rule}}
    assert iam.condition_holds(arn_equals, {"AWS:SourceArn": rule}) is True
    assert iam.condition_holds(arn_equals, {"aws:SourceArn": rule + "2"}) is False
    assert iam.condition_holds(arn_equals, {}) is False  # a missing key fails, unlike moto's check
    assert iam.condition_holds({"ArnLikeIfExists": {"aws:SourceArn": "arn:aws:events:*:*:rule/bus/*"}}, {}) is True
    assert iam.condition_holds({"StringNotEquals": {"aws:SourceAccount": "1"}}, {"aws:SourceAccount": "2"}) is True
    assert iam.condition_holds({"DateLessThan": {"aws:CurrentTime": "2030-01-01"}}, {"aws:CurrentTime": "x"}) is None
    allow = iam.Statement("p", "Allow", ("sqs:SendMessage",), ("*",), ("*",), condition={"DateLessThan": {"k": "v"}})
    assert allow.match("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q", {"k": "v"}) is None


def test_explicit_deny_and_wildcards() -> None:
    def st(effect: str, action: str, resource: str) -> iam.Statement:
        return iam.Statement("p", effect, (action,), (resource,), (resource,))

    table = iam.table_arn("streamauth-t")
    policy = iam.RolePolicy("F", "FRole", [st("Allow", "dynamodb:*", table), st("Deny", "dynamodb:Delete*", "*")])
    assert policy.decide("dynamodb:GetItem", table).allowed
    assert policy.decide("DynamoDB:getitem", table).allowed  # actions are case-insensitive
    assert not policy.decide("dynamodb:GetItem", table + "x").allowed  # resources are not prefixes
    assert not policy.decide("dynamodb:GetItem", iam.table_arn("streamauth.t")).allowed  # "-" is not a regex "."
    denied = policy.decide("dynamodb:DeleteItem", table)
    assert not denied.allowed and "explicit deny" in denied.reason


def test_report_names_grants_no_call_used() -> None:
    function = "CreateViewerTokenFunction"
    granted = iam.role_policy(function).grants()
    used = iam.Record(function, "dynamodb.UpdateItem", "dynamodb:UpdateItem", "arn", True, (granted[0],))
    table = iam.usage(Counter({used: 3}))
    assert table[function].calls == 3 and granted[0] not in table[function].unused_grants
    assert table[function].unused_grants == granted[1:]
    lines = iam.summary(Counter({used: 3}))
    assert lines[0].startswith("1 of ") and any(line.startswith(f"{function}: 3 calls") for line in lines)


@pytest.mark.e2e
def test_local_api_denies_what_the_role_does_not_allow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """The local runner enforces the same policies: with its Policies taken away, a function's
    first AWS call is AccessDenied, the API answers as the layer answers AccessDenied (a 5xx
    JSON error, 503 for the store), and the worker's log names the missing permission."""
    from localapi.runtime import Backend, Lambdas

    function = "IssueTokenFunction"
    template = copy.deepcopy(tpl.load())
    template["Resources"][function]["Properties"]["Policies"] = []
    broken = tmp_path / "template.json"
    broken.write_text(json.dumps(template))
    monkeypatch.setenv(iam.TEMPLATE_ENV, str(broken))
    monkeypatch.setenv(iam.RECORD_ENV, str(tmp_path / "records"))
    backend = Backend(table_prefix=f"iam-{tmp_path.name}").start()
    lambdas = Lambdas(backend)
    try:
        reply = lambdas.invoke(function, sample_event(function))
    finally:
        lambdas.stop()
        backend.stop()
    status = reply["result"]["statusCode"]
    assert status >= 500 and json.loads(reply["result"]["body"])["errorId"] == status, reply
    records = iam.load_records(tmp_path / "records")
    denied = [r for r in records if not r.allowed]
    assert len(denied) == 1 and denied[0].function == function
    line = f"IAM AccessDenied: {function} may not {denied[0].action} on {denied[0].resource}"
    captured = capfd.readouterr()
    assert line in captured.err + captured.out
