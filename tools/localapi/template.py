"""Read template.yaml the way SAM does, as far as the local runner and the tests need:
functions (code, handler, environment), API routes and their authorizer, gateway responses,
and DynamoDB table definitions."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !GetAtt, !Sub, ...) as long-form dicts."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


@cache
def load(path: Path = TEMPLATE) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
        return data


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    authorizer: str | None  # logical id of the Lambda authorizer, None for public routes

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = ""
        for part in self.path.strip("/").split("/"):
            if part.startswith("{") and part.endswith("+}"):
                regex += f"/(?P<{part[1:-2]}>.+)"
            elif part.startswith("{") and part.endswith("}"):
                regex += f"/(?P<{part[1:-1]}>[^/]+)"
            else:
                regex += "/" + re.escape(part)
        return re.compile(regex or "/")

    @property
    def specificity(self) -> tuple[int, int]:
        """API Gateway prefers literal segments over variables, then longer paths."""
        parts = self.path.strip("/").split("/")
        return (sum(1 for p in parts if not p.startswith("{")), len(parts))


@dataclass(frozen=True)
class Authorizer:
    name: str
    function: str
    header: str
    validation: re.Pattern[str] | None
    ttl: int


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, Any] = field(default_factory=dict)
    timeout: int = 3
    layers: tuple[str, ...] = ()  # logical ids of its own layers (Layers:), after the Globals' ones


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res.get("Type") == kind}


def functions(template: dict[str, Any] | None = None) -> dict[str, Function]:
    template = template or load()
    globals_fn = template.get("Globals", {}).get("Function", {})
    result = {}
    for name, res in _resources(template, "AWS::Serverless::Function").items():
        props = res["Properties"]
        env = dict(globals_fn.get("Environment", {}).get("Variables", {}))
        env.update(props.get("Environment", {}).get("Variables", {}))
        result[name] = Function(
            logical_id=name,
            code_uri=ROOT / props["CodeUri"],
            handler=props.get("Handler", globals_fn.get("Handler", "app.lambda_handler")),
            environment=env,
            timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
            layers=tuple(ref["Ref"] for ref in props.get("Layers", []) if isinstance(ref, dict) and "Ref" in ref),
        )
    return result


def _api_auth(template: dict[str, Any]) -> tuple[str | None, dict[str, Authorizer]]:
    apis = _resources(template, "AWS::Serverless::Api")
    default: str | None = None
    authorizers: dict[str, Authorizer] = {}
    for api in apis.values():
        auth = api["Properties"].get("Auth", {})
        default = auth.get("DefaultAuthorizer", default)
        for name, spec in auth.get("Authorizers", {}).items():
            identity = spec.get("Identity", {})
            validation = identity.get("ValidationExpression")
            authorizers[name] = Authorizer(
                name=name,
                function=spec["FunctionArn"]["Fn::GetAtt"][0],
                header=identity.get("Header", "Authorization"),
                validation=re.compile(validation) if validation else None,
                ttl=int(identity.get("ReauthorizeEvery", 300)),
            )
    return default, authorizers


def authorizers(template: dict[str, Any] | None = None) -> dict[str, Authorizer]:
    return _api_auth(template or load())[1]


def routes(template: dict[str, Any] | None = None) -> list[Route]:
    template = template or load()
    default, _ = _api_auth(template)
    found = []
    for name, res in _resources(template, "AWS::Serverless::Function").items():
        for event in res["Properties"].get("Events", {}).values():
            if event.get("Type") != "Api":
                continue
            props = event["Properties"]
            authorizer = props.get("Auth", {}).get("Authorizer", default)
            found.append(
                Route(props["Method"].upper(), props["Path"], name, None if authorizer == "NONE" else authorizer)
            )
    return sorted(found, key=lambda r: r.specificity, reverse=True)


def gateway_responses(template: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    template = template or load()
    responses: dict[str, dict[str, Any]] = {}
    for api in _resources(template, "AWS::Serverless::Api").values():
        responses.update(api["Properties"].get("GatewayResponses", {}))
    return responses


def tables(template: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """CreateTable arguments for each AWS::DynamoDB::Table, straight from its properties."""
    template = template or load()
    result = {}
    for name, res in _resources(template, "AWS::DynamoDB::Table").items():
        props = res["Properties"]
        spec: dict[str, Any] = {
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        if "GlobalSecondaryIndexes" in props:
            spec["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if "StreamSpecification" in props:
            spec["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        result[name] = {"spec": spec, "ttl": props.get("TimeToLiveSpecification")}
    return result


PARAMETERS_ENV = "STREAMAUTH_PARAMETERS"  # "Name=value Name2=value2", like sam's --parameter-overrides


def parameter_defaults(template: dict[str, Any] | None = None) -> dict[str, str]:
    """Each parameter's default, as CloudFormation would take it, with the values $STREAMAUTH_PARAMETERS
    sets in their place (`make run PARAMS="CloudFrontDomain=cdn.example.test"`)."""
    template = template or load()
    parameters = template.get("Parameters", {})
    values = {name: str(p["Default"]) for name, p in parameters.items() if "Default" in p}
    for pair in os.environ.get(PARAMETERS_ENV, "").split():
        name, equals, value = pair.partition("=")
        if not equals or name not in parameters:
            raise ValueError(f"{PARAMETERS_ENV}: {name!r} is not a parameter of the template (Name=value ...)")
        values[name] = value
    return values


def resolve(value: Any, refs: dict[str, str]) -> str:
    """A template value (plain, !Ref, !Sub of known names, or !Join of those) as the string Lambda
    would see. A CommaDelimitedList parameter's !Ref inside !Join is its items."""
    if isinstance(value, dict) and "Ref" in value:
        return refs[value["Ref"]]
    if isinstance(value, dict) and "Fn::Sub" in value:
        return re.sub(r"\$\{([^}]+)\}", lambda m: refs[m.group(1)], value["Fn::Sub"])
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, items = value["Fn::Join"]
        parts = items if isinstance(items, list) else [items]
        return str(separator).join(resolve(part, refs) for part in parts)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def layer_dirs(template: dict[str, Any] | None = None) -> list[Path]:
    """Content directories of the layers every function gets (Globals), as /opt/python."""
    template = template or load()
    layers = _resources(template, "AWS::Serverless::LayerVersion")
    refs = template.get("Globals", {}).get("Function", {}).get("Layers", [])
    return [
        ROOT / layers[ref["Ref"]]["Properties"]["ContentUri"]
        for ref in refs
        if isinstance(ref, dict) and ref.get("Ref") in layers
    ]


def layer_content(logical_id: str, template: dict[str, Any] | None = None) -> Path:
    """A layer's ContentUri (its source and requirements.txt), e.g. CryptoLayer's layers/crypto."""
    template = template or load()
    return ROOT / str(template["Resources"][logical_id]["Properties"]["ContentUri"])


@dataclass(frozen=True)
class EventRule:
    function: str
    pattern: dict[str, Any]

    def matches(self, event: dict[str, Any]) -> bool:
        """EventBridge's plain-list matching on top-level fields (what the template uses)."""
        for name, allowed in self.pattern.items():
            if isinstance(allowed, list) and event.get(name) not in allowed:
                return False
        return True


def event_rules(template: dict[str, Any] | None = None) -> list[EventRule]:
    """Each function's EventBridgeRule, its pattern's !Ref of a (CommaDelimitedList) parameter
    resolved to the parameter's default, as CloudFormation would with the defaults."""
    template = template or load()
    defaults = parameter_defaults(template)
    rules = []
    for name, res in _resources(template, "AWS::Serverless::Function").items():
        for event in res["Properties"].get("Events", {}).values():
            if event.get("Type") == "EventBridgeRule":
                pattern = {
                    field: defaults[allowed["Ref"]].split(",")
                    if isinstance(allowed, dict) and "Ref" in allowed
                    else allowed
                    for field, allowed in event["Properties"].get("Pattern", {}).items()
                }
                rules.append(EventRule(name, pattern))
    return rules
