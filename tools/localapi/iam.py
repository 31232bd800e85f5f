"""The functions' IAM, as template.yaml grants it, enforced wherever the code runs off AWS.

template.yaml is translated by SAM's own translator (aws-sam-translator: policy templates,
the roles SAM makes, the policies it adds for destinations and event sources), and each
function's role is expanded into policy statements: inline policies, AWS managed policies
(their documents as moto ships them), AWS::IAM::ManagedPolicy / AWS::IAM::Policy resources
of the same template (by `!Ref` in `Policies`, or attached with `Roles`), and a permissions
boundary. Intrinsics are resolved with the names of the resources actually in use (the test's
or the local runner's), or with `${LogicalId}` placeholders for deployment-independent labels.

Every AWS call a function makes is turned into the IAM request(s) AWS would authorise, one
per item for TransactWriteItems (ConditionCheck -> dynamodb:ConditionCheckItem, Put ->
PutItem, ...), per table for BatchGetItem/BatchWriteItem, per bus for PutEvents, on the index
for a Query on an index, ..., and evaluated against the role (moto's IAM statement matcher
for actions and resources; conditions by `condition_holds`, since moto ignores all but
StringEquals). A call the role does not allow raises botocore's ClientError with AWS's code
and message (AccessDeniedException: "... is not authorized to perform: dynamodb:... on
resource: ..."), so the function fails as it would in AWS, and the denial is recorded.

Where calls are attributed:
- tests: `acting_as(logical_id)` around a handler call (tests/conftest.py), with the names of
  the `aws` fixture's resources from `deployment(refs)`;
- the local API: `enforce_for_process(logical_id)` in each worker (tools/localapi/worker.py),
  names taken from the function's resolved environment; a denial is also a line on stderr,
  and calls are appended as JSON lines to <dir>/<LogicalId>.jsonl: every call when
  $STREAMAUTH_IAM_RECORD names <dir> (the test suite's local API), else one line per
  distinct call and worker under .build/iam/local.

`service_accesses` checks what AWS services do on the stack's behalf: EventBridge sending a
rule's undeliverable events to its dead-letter queue (queue policy, scoped by aws:SourceArn),
EventBridge invoking a function (Lambda permission), and the function role's rights for its
asynchronous-invoke destinations and event-source mappings (reading the stream, sending to
the on-failure destination). `summary` reports per function the grants no recorded call used.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import hashlib
import json
import os
import re
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from localapi import template as tpl

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account, so ARNs match the ones moto returns
PARTITION = "aws"
CACHE_DIR = tpl.ROOT / ".build" / "iam" / "cache"
LOCAL_RECORD_DIR = tpl.ROOT / ".build" / "iam" / "local"
RECORD_ENV = "STREAMAUTH_IAM_RECORD"  # where workers append their calls
TEMPLATE_ENV = "STREAMAUTH_IAM_TEMPLATE"  # another template's policies for the workers (tests)
_CACHE_VERSION = "1"
_STREAM_LABEL = "1970-01-01T00:00:00.000"
_NO_VALUE = object()


class PolicyError(Exception):
    """The template's IAM cannot be expanded (a role outside the template, an unknown managed policy)."""


# -- SAM -> CloudFormation -------------------------------------------------------------------

_translated: dict[str, dict[str, Any]] = {}
_translate_lock = threading.Lock()


def _template_key(template: Mapping[str, Any]) -> str:
    """The translation's cache key: the template's content and the translator's version."""
    from importlib.metadata import version

    text = json.dumps(template, sort_keys=True, default=str)
    salt = f"{_CACHE_VERSION}/{version('aws-sam-translator')}/{version('moto')}"
    return hashlib.sha256(f"{salt}/{text}".encode()).hexdigest()[:24]


_keys_by_id: dict[int, tuple[Mapping[str, Any], str]] = {}


def template_key(template: Mapping[str, Any]) -> str:
    """`_template_key`, remembered per template object (template.yaml is loaded once)."""
    known = _keys_by_id.get(id(template))
    if known is not None and known[0] is template:
        return known[1]
    key = _template_key(template)
    _keys_by_id[id(template)] = (template, key)
    return key


@cache
def _aws_managed_policies() -> dict[str, dict[str, Any]]:
    """Name -> {"Arn", "Document"} of every AWS managed policy moto ships."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    data: dict[str, dict[str, Any]] = json.loads(aws_managed_policies_data)
    return {
        name: {"Arn": f"arn:{PARTITION}:iam::aws:policy{p.get('Path', '/')}{name}", "Document": p["Document"]}
        for name, p in data.items()
    }


def _packaged(template: Mapping[str, Any]) -> dict[str, Any]:
    """The template as `sam package` leaves it: local code paths become S3 locations."""
    packaged = copy.deepcopy(dict(template))
    sections = [("Globals", packaged.get("Globals", {}).get("Function", {}))]
    sections += [(name, res.get("Properties", {})) for name, res in packaged.get("Resources", {}).items()]
    for name, props in sections:
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://local-package/{name}/{key}"
    return packaged


def translate(template: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation template SAM makes of `template` (template.yaml by default), with the
    documents of the AWS managed policies it attaches under "__AwsManagedPolicies__".
    Cached in memory and under .build/iam/cache (keyed by the template's content)."""
    source = template if template is not None else tpl.load(_template_path())
    key = template_key(source)
    with _translate_lock:
        if key in _translated:
            return _translated[key]
        path = CACHE_DIR / f"{key}.json"
        if path.exists():
            try:
                cached: dict[str, Any] = json.loads(path.read_text())
                _translated[key] = cached
                return cached
            except ValueError:
                pass
        cfn = _translate(source)
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        temp.write_text(json.dumps(cfn))
        os.replace(temp, path)
        _translated[key] = cfn
        return cfn


def _translate(source: Mapping[str, Any]) -> dict[str, Any]:
    import boto3
    from samtranslator.model.exceptions import InvalidDocumentException  # type: ignore[import-untyped]
    from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
    from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]

    def managed_map() -> dict[str, str]:
        return {name: p["Arn"] for name, p in _aws_managed_policies().items()}

    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    try:
        cfn: dict[str, Any] = translator.translate(
            _packaged(source),
            {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": PARTITION},
            get_managed_policy_map=managed_map,
        )
    except InvalidDocumentException as exc:
        raise PolicyError("SAM cannot translate the template: " + "; ".join(str(e) for e in exc.causes)) from exc
    cfn = json.loads(json.dumps(cfn, default=str))
    names = set(re.findall(r":iam::aws:policy/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)", json.dumps(cfn.get("Resources", {}))))
    managed = {name: p for name, p in _aws_managed_policies().items() if name in names} if names else {}
    cfn["__AwsManagedPolicies__"] = managed
    return cfn


def _template_path() -> Path:
    return Path(os.environ.get(TEMPLATE_ENV) or tpl.TEMPLATE)


# -- intrinsic functions ------------------------------------------------------------------------


def table_arn(name: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return name if name.startswith("arn:") else f"arn:{PARTITION}:dynamodb:{region}:{account}:table/{name}"


def queue_arn(url: str, region: str = REGION) -> str:
    """arn:aws:sqs:<region>:<account>:<name> of a queue URL (https://sqs.<region>.../<account>/<name>)."""
    if url.startswith("arn:"):
        return url
    parts = urlsplit(url)
    path = parts.path.strip("/").split("/")
    host = parts.hostname or ""
    match = re.match(r"sqs\.([a-z0-9-]+)\.", host)
    if match:
        region = match.group(1)
    account, name = (path[0], path[-1]) if len(path) >= 2 else (ACCOUNT, path[-1])
    return f"arn:{PARTITION}:sqs:{region}:{account}:{name}"


def bus_arn(name: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return name if name.startswith("arn:") else f"arn:{PARTITION}:events:{region}:{account}:event-bus/{name}"


class Resolver:
    """Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::If, ... with given physical names.

    `refs` maps a logical id to what `!Ref` returns (a table's name, a queue's URL, a secret's
    ARN, a parameter's value) and may map "LogicalId.Attribute" to a `!GetAtt` value; other
    attributes are derived from the Ref as AWS forms them. Resources not in `refs` are named
    after their logical id."""

    def __init__(self, cfn: Mapping[str, Any], refs: Mapping[str, str]) -> None:
        self.resources: dict[str, Any] = dict(cfn.get("Resources", {}))
        self.parameters: dict[str, Any] = dict(cfn.get("Parameters", {}))
        self.conditions: dict[str, Any] = dict(cfn.get("Conditions", {}))
        self.mappings: dict[str, Any] = dict(cfn.get("Mappings", {}))
        self.refs = dict(refs)
        self.pseudo: dict[str, Any] = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "streamauth",
            "AWS::StackId": f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/streamauth/0",
            "AWS::NotificationARNs": [],
        }

    # Ref and GetAtt
    def ref(self, name: str) -> Any:
        if name in self.refs:
            return self.refs[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            if "Default" not in self.parameters[name]:
                raise PolicyError(f"parameter {name} has no default and no value")
            default = self.parameters[name]["Default"]
            return default if isinstance(default, list) else str(default)
        if name in self.resources:
            return self._default_physical(name)
        raise PolicyError(f"!Ref {name}: no such parameter or resource")

    def _props(self, name: str) -> dict[str, Any]:
        props: dict[str, Any] = self.resources.get(name, {}).get("Properties", {}) or {}
        return props

    def _type(self, name: str) -> str:
        kind: str = self.resources.get(name, {}).get("Type", "")
        return kind

    def _named(self, name: str, *keys: str) -> str:
        props = self._props(name)
        for key in keys:
            if key in props:
                return str(self.resolve(props[key]))
        return name

    def _default_physical(self, name: str) -> str:
        kind = self._type(name)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self._named(name, 'QueueName')}"
        if kind == "AWS::SecretsManager::Secret":
            return f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{self._named(name, 'Name')}"
        if kind == "AWS::IAM::ManagedPolicy":
            return f"arn:{PARTITION}:iam::{ACCOUNT}:policy/{self._named(name, 'ManagedPolicyName')}"
        if kind == "AWS::SNS::Topic":
            return f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{self._named(name, 'TopicName')}"
        keys = ("TableName", "FunctionName", "RoleName", "BucketName", "StreamName", "Name")
        return self._named(name, *keys)

    def getatt(self, name: str, attribute: str) -> Any:
        override = f"{name}.{attribute}"
        if override in self.refs:
            return self.refs[override]
        if name not in self.resources:
            raise PolicyError(f"!GetAtt {override}: no such resource")
        kind, ref = self._type(name), str(self.ref(name))
        arn = f"arn:{PARTITION}"
        derived: dict[str, dict[str, Callable[[], str]]] = {
            "AWS::DynamoDB::Table": {
                "Arn": lambda: table_arn(ref),
                "StreamArn": lambda: f"{table_arn(ref)}/stream/{_STREAM_LABEL}",
            },
            "AWS::SQS::Queue": {
                "Arn": lambda: queue_arn(ref),
                "QueueName": lambda: ref.rstrip("/").rsplit("/", 1)[-1],
                "QueueUrl": lambda: ref,
            },
            "AWS::Events::EventBus": {"Arn": lambda: bus_arn(ref), "Name": lambda: ref},
            "AWS::Events::Rule": {"Arn": lambda: self._rule_arn(name, ref)},
            "AWS::Lambda::Function": {"Arn": lambda: f"{arn}:lambda:{REGION}:{ACCOUNT}:function:{ref}"},
            "AWS::IAM::Role": {"Arn": lambda: f"{arn}:iam::{ACCOUNT}:role/{ref}", "RoleId": lambda: ref},
            "AWS::SNS::Topic": {"TopicArn": lambda: ref, "TopicName": lambda: ref.rsplit(":", 1)[-1]},
            "AWS::SecretsManager::Secret": {"Id": lambda: ref},
            "AWS::Kinesis::Stream": {"Arn": lambda: f"{arn}:kinesis:{REGION}:{ACCOUNT}:stream/{ref}"},
            "AWS::S3::Bucket": {"Arn": lambda: f"{arn}:s3:::{ref}"},
        }
        getter = derived.get(kind, {}).get(attribute)
        if getter is None:  # visible in a denial message, never matching by accident
            return f"{arn}:unresolved:{REGION}:{ACCOUNT}:{name}/{attribute}"
        return getter()

    def _rule_arn(self, name: str, ref: str) -> str:
        bus = self._props(name).get("EventBusName")
        bus_name = str(self.resolve(bus)) if bus is not None else "default"
        bus_name = bus_name.rsplit("/", 1)[-1]
        path = ref if bus_name == "default" else f"{bus_name}/{ref}"
        return f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:rule/{path}"

    # everything else
    def condition(self, name: str) -> bool:
        return self._truth(self.conditions[name])

    def _truth(self, expr: Any) -> bool:
        if isinstance(expr, dict) and len(expr) == 1:
            ((fn, args),) = expr.items()
            if fn == "Fn::Equals":
                return str(self.resolve(args[0])) == str(self.resolve(args[1]))
            if fn == "Fn::Not":
                return not self._truth(args[0])
            if fn == "Fn::And":
                return all(self._truth(a) for a in args)
            if fn == "Fn::Or":
                return any(self._truth(a) for a in args)
            if fn == "Condition":
                return self.condition(args)
        raise PolicyError(f"unsupported condition {expr!r}")

    def applicable(self, value: Any) -> list[Any]:
        """A list property whose items may be Fn::If / AWS::NoValue: the items that apply, unresolved."""
        while isinstance(value, dict) and "Fn::If" in value:
            cond, yes, no = value["Fn::If"]
            value = yes if self.condition(cond) else no
        items = []
        for item in value if isinstance(value, list) else [value]:
            while isinstance(item, dict) and "Fn::If" in item:
                cond, yes, no = item["Fn::If"]
                item = yes if self.condition(cond) else no
            if not (isinstance(item, dict) and item.get("Ref") == "AWS::NoValue"):
                items.append(item)
        return items

    def resolve(self, value: Any) -> Any:
        result = self._resolve(value)
        return None if result is _NO_VALUE else result

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self._resolve(v) for v in value]
            return [v for v in items if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, args),) = value.items()
            if key == "Ref":
                return _NO_VALUE if args == "AWS::NoValue" else self.ref(args)
            if key == "Fn::GetAtt":
                name, attribute = args if isinstance(args, list) else str(args).split(".", 1)
                return self.getatt(name, attribute)
            if key == "Fn::Sub":
                return self._sub(args)
            if key == "Fn::Join":
                return str(args[0]).join(str(v) for v in self._resolve(args[1]))
            if key == "Fn::Select":
                return self._resolve(args[1])[int(self._resolve(args[0]))]
            if key == "Fn::Split":
                return str(self._resolve(args[1])).split(args[0])
            if key == "Fn::If":
                return self._resolve(args[1] if self.condition(args[0]) else args[2])
            if key == "Fn::FindInMap":
                a, b, c = (str(self._resolve(x)) for x in args[:3])
                return self.mappings[a][b][c]
            if key == "Fn::Base64":
                return self._resolve(args)
            if key == "Fn::GetAZs":
                return [f"{REGION}{zone}" for zone in "abcdef"]
            if key == "Fn::ImportValue":
                return f"import:{self._resolve(args)}"
        resolved = {k: self._resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _sub(self, args: Any) -> str:
        text, variables = (args, {}) if isinstance(args, str) else (args[0], args[1])
        values = {k: self._resolve(v) for k, v in variables.items()}

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return str(values[name])
            if "." in name and name.split(".", 1)[0] in self.resources:
                return str(self.getatt(*name.split(".", 1)))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", one, text)


def symbolic_refs(cfn: Mapping[str, Any]) -> dict[str, str]:
    """Placeholder physical names (`${LogicalId}`), so a grant reads the same in every run."""
    refs: dict[str, str] = {}
    for name, res in cfn.get("Resources", {}).items():
        kind = res.get("Type", "")
        placeholder = "${" + name + "}"
        if kind == "AWS::SQS::Queue":
            refs[name] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{placeholder}"
        elif kind == "AWS::SecretsManager::Secret":
            refs[name] = f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{placeholder}"
        elif kind == "AWS::IAM::ManagedPolicy":
            refs[name] = f"arn:{PARTITION}:iam::{ACCOUNT}:policy/{placeholder}"
        elif kind == "AWS::SNS::Topic":
            refs[name] = f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{placeholder}"
        else:
            refs[name] = placeholder
    return refs


# -- matching --------------------------------------------------------------------------------


def _glob(pattern: str) -> str:
    """An IAM wildcard pattern as the regular expression moto's matcher expects (it turns `*`
    into `.*` and anchors; everything else must be literal, `?` is one character)."""
    return "".join("*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def _moto_matches(action_pattern: str, resource_pattern: str, action: str, resource: str) -> bool:
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    probe = IAMPolicyStatement(
        {"Effect": "Allow", "Action": _glob(action_pattern.lower()), "Resource": _glob(resource_pattern)}
    )
    return bool(probe.is_action_permitted(action.lower(), resource) == PermissionResult.PERMITTED)


def action_matches(pattern: str, action: str) -> bool:
    return _moto_matches(pattern, "*", action, "*")


def resource_matches(pattern: str, resource: str) -> bool:
    return _moto_matches("*", pattern, "any:Action", resource)


def _wildcard(pattern: str, value: str) -> bool:
    """StringLike: `*` any run of characters, `?` one, case-sensitive."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _arn_like(pattern: str, value: str) -> bool:
    """ArnLike/ArnEquals: each of the six colon-separated parts matched on its own."""
    if pattern == "*":
        return True
    parts, values = pattern.split(":", 5), value.split(":", 5)
    return len(parts) == len(values) == 6 and all(_wildcard(p, v) for p, v in zip(parts, values, strict=True))


def _number(text: str) -> float:
    return float(text)


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda e, a: e == a,
    "StringEqualsIgnoreCase": lambda e, a: e.lower() == a.lower(),
    "StringLike": _wildcard,
    "ArnEquals": _arn_like,
    "ArnLike": _arn_like,
    "Bool": lambda e, a: e.lower() == a.lower(),
    "NumericEquals": lambda e, a: _number(a) == _number(e),
    "NumericLessThan": lambda e, a: _number(a) < _number(e),
    "NumericLessThanEquals": lambda e, a: _number(a) <= _number(e),
    "NumericGreaterThan": lambda e, a: _number(a) > _number(e),
    "NumericGreaterThanEquals": lambda e, a: _number(a) >= _number(e),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


def condition_holds(condition: Mapping[str, Any] | None, context: Mapping[str, Any]) -> bool | None:
    """Whether a statement's Condition block holds for the request context (keys compared
    case-insensitively), or None when it uses an operator this evaluator does not know (the
    caller then fails closed). A key missing from the context fails the condition, except
    with ...IfExists and Null, as in IAM."""
    if not condition:
        return True
    ctx = {k.lower(): v for k, v in context.items()}
    for operator, block in condition.items():
        qualifier, _, name = operator.rpartition(":")
        if_exists = name.endswith("IfExists")
        base = name[: -len("IfExists")] if if_exists else name
        for key, expected in block.items():
            wanted = [_condition_text(v) for v in (expected if isinstance(expected, list) else [expected])]
            actual = ctx.get(key.lower())
            if base == "Null":
                if (actual is None) != (wanted[0].lower() == "true"):
                    return False
                continue
            if actual is None:
                if if_exists or qualifier == "ForAllValues":
                    continue
                return False
            actuals = [_condition_text(a) for a in (actual if isinstance(actual, list) else [actual])]
            negated = base in _NEGATED
            test = _OPERATORS.get(_NEGATED.get(base, base))
            if test is None:
                return None
            if qualifier == "ForAllValues":
                holds = all(any(test(w, a) for w in wanted) for a in actuals)
            else:
                holds = any(test(w, a) for w in wanted for a in actuals)
            if holds == negated:
                return False
    return True


def _condition_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- policies --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    source: str  # the policy's name (inline), its ARN (managed) or logical id (template resource)
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    labels: tuple[str, ...]  # the resources with ${LogicalId} placeholders, parallel to `resources`
    not_action: bool = False
    not_resource: bool = False
    condition: Mapping[str, Any] | None = None
    principals: tuple[str, ...] | None = None  # resource policies: "*" or service/AWS principals
    aws_managed: bool = False

    def grants(self) -> list[str]:
        """One label per (action, resource) an Allow statement grants."""
        actions = [f"NotAction({', '.join(self.actions)})"] if self.not_action else list(self.actions)
        resources = [f"NotResource({', '.join(self.labels)})"] if self.not_resource else list(self.labels)
        return [f"{a} on {r}" for a in actions for r in resources]

    def match(self, action: str, resource: str, context: Mapping[str, Any]) -> list[str] | None:
        """The grant labels this statement applies with to the request, or None."""
        if self.not_action:
            actions = (
                []
                if any(action_matches(a, action) for a in self.actions)
                else [f"NotAction({', '.join(self.actions)})"]
            )
        else:
            actions = [a for a in self.actions if action_matches(a, action)]
        if not actions:
            return None
        if self.not_resource:
            hit = any(resource_matches(r, resource) for r in self.resources)
            labels = [] if hit else [f"NotResource({', '.join(self.labels)})"]
        else:
            labels = [
                label for r, label in zip(self.resources, self.labels, strict=True) if resource_matches(r, resource)
            ]
        if not labels:
            return None
        holds = condition_holds(self.condition, context)
        if holds is None:  # an operator we cannot evaluate: an Allow does not apply, a Deny does
            holds = self.effect == "Deny"
        if not holds:
            return None
        return [f"{a} on {label}" for a in actions for label in labels]


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in (value if isinstance(value, list) else [value]))


def _principals(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if value == "*":
        return ("*",)
    found: list[str] = []
    for kind, names in value.items():
        found += [n if n == "*" else f"{kind}:{n}" for n in _as_tuple(names)]
    return tuple(found)


def statements(source: str, concrete: Any, symbolic: Any, aws_managed: bool = False) -> list[Statement]:
    """The statements of one policy document, resolved twice (concrete names, placeholders)."""
    found = []
    listed, shown = concrete.get("Statement", []), symbolic.get("Statement", [])
    listed = listed if isinstance(listed, list) else [listed]
    shown = shown if isinstance(shown, list) else [shown]
    for st, sy in zip(listed, shown, strict=True):
        resources = _as_tuple(st.get("NotResource", st.get("Resource", "*")))
        labels = _as_tuple(sy.get("NotResource", sy.get("Resource", "*")))
        if len(labels) != len(resources):
            labels = resources
        found.append(
            Statement(
                source=source,
                effect=str(st.get("Effect", "Allow")),
                actions=_as_tuple(st.get("NotAction", st.get("Action"))),
                resources=resources,
                labels=labels,
                not_action="NotAction" in st,
                not_resource="NotResource" in st,
                condition=st.get("Condition"),
                principals=_principals(st.get("Principal")),
                aws_managed=aws_managed,
            )
        )
    return found


@dataclass(frozen=True)
class Decision:
    allowed: bool
    grants: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Request:
    action: str
    resource: str


@dataclass
class RolePolicy:
    """A function's execution role: every statement of every policy attached to it."""

    function: str
    role_name: str
    statements: list[Statement]
    boundary: list[Statement] | None = None
    _decisions: dict[tuple[str, str], Decision] = field(default_factory=dict, repr=False)

    @property
    def principal_arn(self) -> str:
        return f"arn:{PARTITION}:sts::{ACCOUNT}:assumed-role/{self.role_name}/{self.function}"

    def documents(self) -> list[dict[str, Any]]:
        by_source: dict[str, list[dict[str, Any]]] = {}
        for st in self.statements:
            doc: dict[str, Any] = {"Effect": st.effect}
            doc["NotAction" if st.not_action else "Action"] = list(st.actions)
            doc["NotResource" if st.not_resource else "Resource"] = list(st.resources)
            if st.condition:
                doc["Condition"] = st.condition
            by_source.setdefault(st.source, []).append(doc)
        return [{"Version": "2012-10-17", "Statement": sts, "PolicyName": name} for name, sts in by_source.items()]

    def grants(self, include_aws_managed: bool = False) -> list[str]:
        """Labels of everything the role's Allow statements grant (AWS managed ones left out
        by default: SAM attaches them for the runtime's logs and traces, not for the code)."""
        found: list[str] = []
        for st in self.statements:
            if st.effect == "Allow" and (include_aws_managed or not st.aws_managed):
                found += [g for g in st.grants() if g not in found]
        return found

    def decide(self, action: str, resource: str, context: Mapping[str, Any] | None = None) -> Decision:
        key = (action, resource)
        if context is None and key in self._decisions:
            return self._decisions[key]
        ctx = {
            "aws:PrincipalArn": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{self.role_name}",
            "aws:PrincipalAccount": ACCOUNT,
            "aws:RequestedRegion": REGION,
            **(context or {}),
        }
        decision = _evaluate(self.statements, action, resource, ctx, "identity-based policy")
        if decision.allowed and self.boundary is not None:
            bounded = _evaluate(self.boundary, action, resource, ctx, "permissions boundary")
            if not bounded.allowed:
                decision = Decision(False, (), bounded.reason)
        if context is None:
            self._decisions[key] = decision
        return decision


def _evaluate(
    found: Iterable[Statement], action: str, resource: str, context: Mapping[str, Any], kind: str
) -> Decision:
    granted: list[str] = []
    for st in found:
        labels = st.match(action, resource, context)
        if labels is None:
            continue
        if st.effect == "Deny":
            return Decision(False, (), f"with an explicit deny in an {kind} ({st.source})")
        granted += labels
    if not granted:
        return Decision(False, (), f"because no {kind} allows the {action} action")
    return Decision(True, tuple(dict.fromkeys(granted)))


def _principal_matches(st: Statement, principal: str) -> bool:
    if st.principals is None:
        return False
    return "*" in st.principals or principal in st.principals or f"AWS:{principal}" in st.principals


def resource_policy_decide(
    found: Iterable[Statement], principal: str, action: str, resource: str, context: Mapping[str, Any]
) -> Decision:
    """A resource-based policy (queue policy, Lambda permissions) for a principal such as
    "Service:events.amazonaws.com"."""
    return _evaluate(
        [st for st in found if _principal_matches(st, principal)], action, resource, context, "resource-based policy"
    )


# -- a function's role, from the template ----------------------------------------------------


def _functions(cfn: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in cfn.get("Resources", {}).items() if v.get("Type") == "AWS::Lambda::Function"}


def _role_of(cfn: Mapping[str, Any], function: str) -> str:
    resources = cfn.get("Resources", {})
    if function not in resources or resources[function].get("Type") != "AWS::Lambda::Function":
        raise PolicyError(f"{function} is not a function in the template")
    role = resources[function].get("Properties", {}).get("Role")
    if isinstance(role, dict) and "Fn::GetAtt" in role:
        target = role["Fn::GetAtt"]
        name = target[0] if isinstance(target, list) else str(target).split(".", 1)[0]
        if resources.get(name, {}).get("Type") == "AWS::IAM::Role":
            return str(name)
    raise PolicyError(
        f"{function}'s role ({role!r}) is not an AWS::IAM::Role of the template: its policies are unknown"
    )


def _attached_to(resource: Mapping[str, Any], role: str) -> bool:
    roles = resource.get("Properties", {}).get("Roles", [])
    return any(isinstance(r, dict) and r.get("Ref") == role for r in roles)


def _managed_document(cfn: Mapping[str, Any], item: Any, concrete: Resolver) -> tuple[str, dict[str, Any], bool]:
    """(source, unresolved document, AWS managed?) of one ManagedPolicyArns entry."""
    resources = cfn.get("Resources", {})
    if isinstance(item, dict) and resources.get(item.get("Ref", ""), {}).get("Type") == "AWS::IAM::ManagedPolicy":
        name = item["Ref"]
        return name, resources[name]["Properties"]["PolicyDocument"], False
    arn = str(concrete.resolve(item))
    match = re.fullmatch(r"arn:[\w-]+:iam::aws:policy/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)", arn)
    if match:
        managed = cfn.get("__AwsManagedPolicies__", {}).get(match.group(1)) or _aws_managed_policies().get(
            match.group(1)
        )
        if managed is None:
            raise PolicyError(f"AWS managed policy {arn} is unknown to moto: cannot evaluate it")
        return arn, managed["Document"], True
    for name, res in resources.items():
        if res.get("Type") == "AWS::IAM::ManagedPolicy" and str(concrete.ref(name)) == arn:
            return name, res["Properties"]["PolicyDocument"], False
    raise PolicyError(f"managed policy {arn} is not defined in the template: its document is unknown")


def _role_documents(
    cfn: Mapping[str, Any], role: str, concrete: Resolver
) -> tuple[list[tuple[str, Any, bool]], tuple[str, Any, bool] | None]:
    resources = cfn.get("Resources", {})
    props = resources[role].get("Properties", {})
    docs: list[tuple[str, Any, bool]] = []
    for policy in concrete.applicable(props.get("Policies", [])):
        docs.append((str(concrete.resolve(policy.get("PolicyName", role))), policy["PolicyDocument"], False))
    for item in concrete.applicable(props.get("ManagedPolicyArns", [])):
        docs.append(_managed_document(cfn, item, concrete))
    for name, res in resources.items():
        if res.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and _attached_to(res, role):
            docs.append((name, res["Properties"]["PolicyDocument"], False))
    boundary = props.get("PermissionsBoundary")
    return docs, (_managed_document(cfn, boundary, concrete) if boundary is not None else None)


_policies: dict[tuple[str, str, tuple[tuple[str, str], ...] | None], RolePolicy] = {}


def role_policy(
    function: str, refs: Mapping[str, str] | None = None, template: Mapping[str, Any] | None = None
) -> RolePolicy:
    """The function's execution role as template.yaml (or `template`) defines it, names
    resolved with `refs` (placeholders when None)."""
    source = template if template is not None else tpl.load(_template_path())
    cfn = translate(source)
    key = (template_key(source), function, tuple(sorted((refs or {}).items())) if refs is not None else None)
    if key in _policies:
        return _policies[key]
    placeholders = symbolic_refs(cfn)
    concrete = Resolver(cfn, placeholders if refs is None else refs)
    symbolic = Resolver(cfn, placeholders)
    role = _role_of(cfn, function)
    docs, boundary = _role_documents(cfn, role, concrete)
    found: list[Statement] = []
    for name, doc, managed in docs:
        found += statements(name, concrete.resolve(doc), symbolic.resolve(doc), managed)
    bounded = None
    if boundary is not None:
        bounded = statements(boundary[0], concrete.resolve(boundary[1]), symbolic.resolve(boundary[1]), boundary[2])
    policy = RolePolicy(function, str(concrete.ref(role)), found, bounded)
    _policies[key] = policy
    return policy


def function_ids(template: Mapping[str, Any] | None = None) -> list[str]:
    return sorted(_functions(translate(template)))


# -- AWS calls as IAM requests ---------------------------------------------------------------

_TRANSACT_ITEM_ACTION = {
    "ConditionCheck": "ConditionCheckItem",
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "Get": "GetItem",
}
_SQS_ACTION = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def requests_for(
    prefix: str,
    operation: str,
    params: Mapping[str, Any],
    region: str = REGION,
    known_arns: Iterable[str] = (),
) -> list[Request]:
    """The IAM request(s) AWS authorises for one API call: action and resource ARN each."""
    found: list[Request] = []
    if prefix == "dynamodb":
        found = _dynamodb_requests(operation, params, region)
    elif prefix == "secretsmanager" and "SecretId" in params:
        found = [Request(f"secretsmanager:{operation}", _secret_arn(str(params["SecretId"]), region, known_arns))]
    elif prefix == "events" and operation == "PutEvents":
        buses = dict.fromkeys(str(e.get("EventBusName") or "default") for e in params.get("Entries", []))
        found = [Request("events:PutEvents", bus_arn(b, region)) for b in buses]
    elif prefix == "events" and "EventBusName" in params:
        found = [Request(f"events:{operation}", bus_arn(str(params["EventBusName"]), region))]
    elif prefix == "sqs" and "QueueUrl" in params:
        found = [Request(f"sqs:{_SQS_ACTION.get(operation, operation)}", queue_arn(str(params["QueueUrl"]), region))]
    elif prefix == "sqs" and operation == "GetQueueUrl":
        owner = str(params.get("QueueOwnerAWSAccountId") or ACCOUNT)
        found = [Request("sqs:GetQueueUrl", f"arn:{PARTITION}:sqs:{region}:{owner}:{params['QueueName']}")]
    elif prefix == "sns" and "TopicArn" in params:
        found = [Request(f"sns:{operation}", str(params["TopicArn"]))]
    elif prefix == "lambda" and "FunctionName" in params:
        name = str(params["FunctionName"])
        arn = name if name.startswith("arn:") else f"arn:{PARTITION}:lambda:{region}:{ACCOUNT}:function:{name}"
        found = [Request(f"lambda:{'InvokeFunction' if operation == 'Invoke' else operation}", arn)]
    return found or [Request(f"{prefix}:{operation}", "*")]


def _dynamodb_requests(operation: str, params: Mapping[str, Any], region: str) -> list[Request]:
    found: list[Request] = []
    if operation in ("TransactWriteItems", "TransactGetItems"):
        for item in params.get("TransactItems", []):
            for kind, body in item.items():
                action = _TRANSACT_ITEM_ACTION.get(kind, kind)
                found.append(Request(f"dynamodb:{action}", table_arn(str(body["TableName"]), region)))
    elif operation in ("BatchGetItem", "BatchWriteItem"):
        found = [Request(f"dynamodb:{operation}", table_arn(str(t), region)) for t in params.get("RequestItems", {})]
    elif "TableName" in params:
        resource = table_arn(str(params["TableName"]), region)
        if params.get("IndexName"):
            resource += f"/index/{params['IndexName']}"
        found = [Request(f"dynamodb:{operation}", resource)]
    elif "StreamArn" in params:
        found = [Request(f"dynamodb:{operation}", str(params["StreamArn"]))]
    elif "ResourceArn" in params:
        found = [Request(f"dynamodb:{operation}", str(params["ResourceArn"]))]
    return list(dict.fromkeys(found))


def _secret_arn(secret_id: str, region: str, known_arns: Iterable[str]) -> str:
    if secret_id.startswith("arn:"):
        return secret_id
    for arn in known_arns:  # a name: the ARN (with its random suffix) of the secret so named
        if arn.startswith("arn:") and ":secretsmanager:" in arn:
            name = arn.split(":secret:", 1)[-1]
            if name == secret_id or re.fullmatch(re.escape(secret_id) + r"-[A-Za-z0-9]{6}", name):
                return arn
    return f"arn:{PARTITION}:secretsmanager:{region}:{ACCOUNT}:secret:{secret_id}"


# -- recording and enforcement -----------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    function: str
    call: str  # service.Operation, e.g. dynamodb.TransactWriteItems
    action: str
    resource: str
    allowed: bool
    grants: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {
                "function": self.function,
                "call": self.call,
                "action": self.action,
                "resource": self.resource,
                "allowed": self.allowed,
                "grants": list(self.grants),
            }
        )

    @staticmethod
    def from_json(line: str) -> Record:
        data = json.loads(line)
        return Record(
            data["function"], data["call"], data["action"], data["resource"], data["allowed"], tuple(data["grants"])
        )


class Recorder:
    """Every attributed call, counted; with a directory, also appended as JSON lines to
    <directory>/<function>.jsonl (several processes can share it): one line per call, or with
    `every_call=False` one per distinct record and process (a long `make run` stays small)."""

    def __init__(self, directory: Path | None = None, every_call: bool = True) -> None:
        self.directory = directory
        self.every_call = every_call
        self._lock = threading.Lock()
        self.counts: Counter[Record] = Counter()

    def add(self, record: Record) -> None:
        with self._lock:
            self.counts[record] += 1
            if self.directory is not None and (self.every_call or self.counts[record] == 1):
                self.directory.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.directory / f"{record.function}.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    os.write(fd, (record.to_json() + "\n").encode())
                finally:
                    os.close(fd)

    def clear(self) -> None:
        with self._lock:
            self.counts.clear()


def load_records(directory: Path | None) -> Counter[Record]:
    found: Counter[Record] = Counter()
    if directory is None or not directory.is_dir():
        return found
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                found[Record.from_json(line)] += 1
    return found


RECORDER = Recorder()  # in-process (tests)


@dataclass
class Active:
    """The function on whose behalf calls are being made, and what it has been denied."""

    function: str
    policy: RolePolicy
    known_arns: tuple[str, ...]
    recorder: Recorder
    log: Callable[[str], None] | None = None
    denied: list[str] = field(default_factory=list)


_ACTIVE: contextvars.ContextVar[Active | None] = contextvars.ContextVar("streamauth_iam_active", default=None)
_PROCESS_ACTIVE: Active | None = None  # the local worker: one function per process
_DEPLOYMENT: dict[str, str] | None = None  # tests: the names of the `aws` fixture's resources
_ERROR_CODES = {"sqs": "AccessDenied", "sns": "AuthorizationError", "s3": "AccessDenied"}


def _current() -> Active | None:
    return _ACTIVE.get() or _PROCESS_ACTIVE


def _before_parameter_build(params: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    active = _current()
    if active is None or context.get("streamauth_iam"):
        return
    context["streamauth_iam"] = True  # one check per call, however often the handler is registered
    prefix = str(model.service_model.signing_name)
    region = str(context.get("client_region") or REGION)
    denied: list[tuple[Request, Decision]] = []
    for request in requests_for(prefix, str(model.name), params, region, active.known_arns):
        decision = active.policy.decide(request.action, request.resource)
        active.recorder.add(
            Record(
                active.function,
                f"{prefix}.{model.name}",
                request.action,
                request.resource,
                decision.allowed,
                decision.grants,
            )
        )
        if not decision.allowed:
            denied.append((request, decision))
    if not denied:
        return
    request, decision = denied[0]
    message = (
        f"User: {active.policy.principal_arn} is not authorized to perform: {request.action} "
        f"on resource: {request.resource} {decision.reason}"
    )
    for req, _decision in denied:
        note = (
            f"IAM AccessDenied: {active.function} may not {req.action} on {req.resource} "
            f"(call {prefix}.{model.name}): its Policies in template.yaml do not allow it"
        )
        if len(active.denied) < 1000:  # a worker lives long: its log has every one
            active.denied.append(note)
        if active.log is not None:
            active.log(note)
    from botocore.exceptions import ClientError

    code = _ERROR_CODES.get(prefix, "AccessDeniedException")
    raise ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}},  # type: ignore[typeddict-item]
        str(model.name),
    )


def install() -> None:
    """Check every botocore client created from now on (moto registers its stubber the same way)."""
    from botocore.handlers import BUILTIN_HANDLERS

    entry = ("before-parameter-build", _before_parameter_build)
    if entry in BUILTIN_HANDLERS:
        return
    BUILTIN_HANDLERS.append(entry)
    boto3 = sys.modules.get("boto3")  # a default session made before now lacks the handler
    if boto3 is not None and getattr(boto3, "DEFAULT_SESSION", None) is not None:
        boto3.DEFAULT_SESSION.events.register("before-parameter-build", _before_parameter_build)


@contextlib.contextmanager
def deployment(refs: Mapping[str, str]) -> Iterator[None]:
    """Tests: resources with these names exist (the `aws` fixture's); enforce against them."""
    global _DEPLOYMENT
    install()
    previous, _DEPLOYMENT = _DEPLOYMENT, dict(refs)
    try:
        yield
    finally:
        _DEPLOYMENT = previous


def current_deployment() -> dict[str, str] | None:
    """The names `deployment` was given (None outside it)."""
    return dict(_DEPLOYMENT) if _DEPLOYMENT is not None else None


@contextlib.contextmanager
def acting_as(
    function: str, policy: RolePolicy | None = None, recorder: Recorder | None = None
) -> Iterator[Active | None]:
    """Attribute the AWS calls made inside to `function` and enforce its role: the given
    policy, or the template's with the current deployment's names. Without either, nothing
    is enforced (a test without the `aws` fixture)."""
    refs = _DEPLOYMENT
    if policy is None and refs is None:
        yield None
        return
    if policy is None:
        policy = role_policy(function, refs)
    known = tuple(v for v in (refs or {}).values() if isinstance(v, str))
    active = Active(function, policy, known, recorder or RECORDER)
    token = _ACTIVE.set(active)
    try:
        yield active
    finally:
        _ACTIVE.reset(token)


def refs_from_environment(
    function: str, environ: Mapping[str, str], template: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """What `!Ref X` / `!GetAtt X.Y` resolve to, read back from a function's environment as the
    runner resolved it (TABLE_NAME: !Ref StreamAuthTable gives StreamAuthTable's name)."""
    source = template if template is not None else tpl.load()
    refs = dict(tpl.parameter_defaults(dict(source)))
    definition = tpl.functions(dict(source)).get(function)
    for name, value in (definition.environment if definition else {}).items():
        if name not in environ or not isinstance(value, dict):
            continue
        if "Ref" in value:
            refs[str(value["Ref"])] = environ[name]
        elif "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            refs[".".join(target) if isinstance(target, list) else str(target)] = environ[name]
    return refs


def enforce_for_process(function: str, environ: Mapping[str, str] | None = None) -> Active:
    """The local worker: every AWS call this process makes is the function's, checked against
    its role (template.yaml, or $STREAMAUTH_IAM_TEMPLATE), recorded, and logged when denied."""
    global _PROCESS_ACTIVE
    environ = os.environ if environ is None else environ
    template = tpl.load(_template_path())
    refs = refs_from_environment(function, environ, template)
    policy = role_policy(function, refs, template)
    directory = Path(environ.get(RECORD_ENV) or LOCAL_RECORD_DIR)
    every_call = bool(environ.get(RECORD_ENV))  # a test run counts calls; `make run` keeps one of each

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    known = tuple(v for v in refs.values() if isinstance(v, str))
    _PROCESS_ACTIVE = Active(function, policy, known, Recorder(directory, every_call), log)
    install()
    return _PROCESS_ACTIVE


# -- what AWS services do for the stack --------------------------------------------------------


@dataclass(frozen=True)
class ServiceAccess:
    description: str
    principal: str
    action: str
    resource: str
    allowed: bool
    expected: bool = True
    reason: str = ""
    function: str | None = None  # whose role grants it (its grants count as used)
    grants: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.allowed == self.expected


def _arn_service(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 2 and arn.startswith("arn:") else ""


_DESTINATION_ACTION = {
    "sqs": "sqs:SendMessage",
    "sns": "sns:Publish",
    "lambda": "lambda:InvokeFunction",
    "events": "events:PutEvents",
    "s3": "s3:PutObject",
}
_SOURCE_ACTIONS = {
    "dynamodb": ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"),
    "kinesis": (
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
    ),
    "sqs": ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
}


def service_accesses(
    refs: Mapping[str, str] | None = None, template: Mapping[str, Any] | None = None
) -> list[ServiceAccess]:
    """Each access an AWS service makes on the stack's behalf, and whether the template allows it."""
    cfn = translate(template)
    resolver = Resolver(cfn, symbolic_refs(cfn) if refs is None else refs)
    resources: dict[str, Any] = cfn.get("Resources", {})
    by_type: dict[str, dict[str, Any]] = {}
    for name, res in resources.items():
        by_type.setdefault(res.get("Type", ""), {})[name] = res
    queue_policies = _queue_policies(by_type, resolver)
    lambda_permissions = _lambda_permissions(by_type, resolver)
    function_of = {str(resolver.getatt(n, "Arn")): n for n in by_type.get("AWS::Lambda::Function", {})}
    function_of.update({str(resolver.ref(n)): n for n in by_type.get("AWS::Lambda::Function", {})})
    found: list[ServiceAccess] = []

    def role_access(function: str, what: str, action: str, resource: str) -> None:
        policy = role_policy(function, refs, template)
        decision = policy.decide(action, resource)
        found.append(
            ServiceAccess(
                what,
                f"role of {function}",
                action,
                resource,
                decision.allowed,
                True,
                decision.reason,
                function,
                decision.grants,
            )
        )

    for rule_name, rule in by_type.get("AWS::Events::Rule", {}).items():
        rule_arn = str(resolver.getatt(rule_name, "Arn"))
        other_rule = rule_arn.rsplit("/", 1)[0] + "/a-rule-of-someone-else"
        for target in resolver.resolve(rule.get("Properties", {}).get("Targets", [])) or []:
            arn = str(target.get("Arn", ""))
            if _arn_service(arn) == "lambda" and arn in function_of:
                context = {"aws:SourceArn": rule_arn, "aws:SourceAccount": ACCOUNT}
                decision = resource_policy_decide(
                    lambda_permissions.get(arn, []),
                    "Service:events.amazonaws.com",
                    "lambda:InvokeFunction",
                    arn,
                    context,
                )
                found.append(
                    ServiceAccess(
                        f"EventBridge rule {rule_name} invokes {function_of[arn]}",
                        "events.amazonaws.com",
                        "lambda:InvokeFunction",
                        arn,
                        decision.allowed,
                        True,
                        decision.reason,
                    )
                )
            queues = [arn] if _arn_service(arn) == "sqs" else []
            dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
            if dead_letter:
                queues.append(str(dead_letter))
            for queue in queues:
                sent = "dead letters" if queue == dead_letter else "events"
                what = f"EventBridge rule {rule_name} sends {sent} to {queue}"
                policy = queue_policies.get(queue, [])
                for source, expected in ((rule_arn, True), (other_rule, False)):
                    context = {"aws:SourceArn": source, "aws:SourceAccount": ACCOUNT}
                    decision = resource_policy_decide(
                        policy, "Service:events.amazonaws.com", "sqs:SendMessage", queue, context
                    )
                    label = what if expected else f"{what}: only that rule (aws:SourceArn), not {source}"
                    found.append(
                        ServiceAccess(
                            label,
                            "events.amazonaws.com",
                            "sqs:SendMessage",
                            queue,
                            decision.allowed,
                            expected,
                            decision.reason,
                        )
                    )

    for name, schedule in by_type.get("AWS::SecretsManager::RotationSchedule", {}).items():
        props = resolver.resolve(schedule.get("Properties", {}))
        arn = str(props.get("RotationLambdaARN", ""))
        secret = str(props.get("SecretId", ""))
        if arn not in function_of:
            continue
        other_secret = secret + "-of-someone-else"
        for source, expected in ((secret, True), (other_secret, False)):
            context = {"aws:SourceArn": source, "aws:SourceAccount": ACCOUNT}
            decision = resource_policy_decide(
                lambda_permissions.get(arn, []),
                "Service:secretsmanager.amazonaws.com",
                "lambda:InvokeFunction",
                arn,
                context,
            )
            what = f"Secrets Manager rotation {name} invokes {function_of[arn]}"
            found.append(
                ServiceAccess(
                    what if expected else f"{what}: only for that secret (aws:SourceArn), not {source}",
                    "secretsmanager.amazonaws.com",
                    "lambda:InvokeFunction",
                    arn,
                    decision.allowed,
                    expected,
                    decision.reason,
                )
            )

    for name, config in by_type.get("AWS::Lambda::EventInvokeConfig", {}).items():
        props = resolver.resolve(config.get("Properties", {}))
        function = function_of.get(str(props.get("FunctionName", "")))
        for outcome, dest in (props.get("DestinationConfig") or {}).items():
            arn = str((dest or {}).get("Destination", ""))
            action = _DESTINATION_ACTION.get(_arn_service(arn))
            if function and action:
                role_access(function, f"{name}: asynchronous invocations' {outcome} destination", action, arn)

    for name, mapping in by_type.get("AWS::Lambda::EventSourceMapping", {}).items():
        props = resolver.resolve(mapping.get("Properties", {}))
        function = function_of.get(str(props.get("FunctionName", "")))
        if function is None:
            continue
        source = str(props.get("EventSourceArn", ""))
        for action in _SOURCE_ACTIONS.get(_arn_service(source), ()):
            role_access(function, f"{name}: Lambda reads the event source", action, source)
        for outcome, dest in (props.get("DestinationConfig") or {}).items():
            arn = str((dest or {}).get("Destination", ""))
            action = _DESTINATION_ACTION.get(_arn_service(arn))
            if action:
                role_access(function, f"{name}: the event source's {outcome} destination", action, arn)
    return found


def _queue_policies(by_type: Mapping[str, Mapping[str, Any]], resolver: Resolver) -> dict[str, list[Statement]]:
    symbolic = Resolver({"Resources": resolver.resources}, symbolic_refs({"Resources": resolver.resources}))
    found: dict[str, list[Statement]] = {}
    for name, res in by_type.get("AWS::SQS::QueuePolicy", {}).items():
        props = res.get("Properties", {})
        sts = statements(name, resolver.resolve(props["PolicyDocument"]), symbolic.resolve(props["PolicyDocument"]))
        for url in resolver.resolve(props.get("Queues", [])):
            found.setdefault(queue_arn(str(url)), []).extend(sts)
    return found


def _lambda_permissions(by_type: Mapping[str, Mapping[str, Any]], resolver: Resolver) -> dict[str, list[Statement]]:
    found: dict[str, list[Statement]] = {}
    functions = by_type.get("AWS::Lambda::Function", {})
    for name, res in by_type.get("AWS::Lambda::Permission", {}).items():
        props = resolver.resolve(res.get("Properties", {}))
        target = str(props.get("FunctionName", ""))
        arn = next(
            (
                str(resolver.getatt(f, "Arn"))
                for f in functions
                if target in (str(resolver.ref(f)), str(resolver.getatt(f, "Arn")))
            ),
            target,
        )
        condition: dict[str, Any] = {}
        if props.get("SourceArn"):
            condition["ArnLike"] = {"aws:SourceArn": props["SourceArn"]}
        if props.get("SourceAccount"):
            condition["StringEquals"] = {"aws:SourceAccount": props["SourceAccount"]}
        principal = str(props.get("Principal", ""))
        kind = "Service" if principal.endswith(".amazonaws.com") else "AWS"
        st = Statement(
            name,
            "Allow",
            (str(props.get("Action", "")),),
            (arn,),
            (arn,),
            condition=condition or None,
            principals=(f"{kind}:{principal}",),
        )
        found.setdefault(arn, []).append(st)
    return found


# -- the report ----------------------------------------------------------------------------------


@dataclass
class FunctionUsage:
    function: str
    calls: int = 0
    denied: int = 0
    used: set[tuple[str, str]] = field(default_factory=set)  # (action, resource)
    used_grants: set[str] = field(default_factory=set)
    unused_grants: list[str] = field(default_factory=list)


def usage(records: Mapping[Record, int], template: Mapping[str, Any] | None = None) -> dict[str, FunctionUsage]:
    """Per function of the template: calls recorded, denials, and the grants (of the
    template's own policies, not AWS managed ones) no recorded call and no service access used."""
    result = {name: FunctionUsage(name) for name in function_ids(template)}
    for record, count in records.items():
        entry = result.setdefault(record.function, FunctionUsage(record.function))
        entry.calls += count
        entry.denied += count if not record.allowed else 0
        entry.used.add((record.action, record.resource))
        entry.used_grants.update(record.grants)
    for access in service_accesses(None, template):
        if access.function and access.function in result:
            result[access.function].used_grants.update(access.grants)
    for name, entry in result.items():
        entry.unused_grants = [g for g in role_policy(name, None, template).grants() if g not in entry.used_grants]
    return result


def summary(records: Mapping[Record, int], template: Mapping[str, Any] | None = None) -> list[str]:
    """Human-readable lines: totals, then per function what it used and what it never did."""
    table = usage(records, template)
    exercised = [u for u in table.values() if u.calls]
    lines = [
        f"{len(exercised)} of {len(table)} functions made AWS calls: {sum(u.calls for u in table.values())} calls, "
        f"{len({(r.function, r.action) for r in records})} distinct (function, action), "
        f"{sum(u.denied for u in table.values())} denied"
    ]
    idle = sorted(name for name, entry in table.items() if not entry.calls)
    if idle:
        lines.append(f"no AWS call in this run (not run, or need none): {', '.join(idle)}")
    for name in sorted(table):
        entry = table[name]
        if not entry.calls:
            continue
        actions = sorted({a for a, _ in entry.used})
        lines.append(f"{name}: {entry.calls} calls ({', '.join(actions)}), {entry.denied} denied")
        grouped: dict[str, list[str]] = {}
        for grant in entry.unused_grants:
            action, _, resource = grant.partition(" on ")
            grouped.setdefault(resource, []).append(action)
        for resource, unused in grouped.items():
            lines.append(f"    granted, never used: {', '.join(unused)} on {resource}")
    return lines
