"""Powertools' API Gateway resolver, without the packages around it that a function never uses.

Python runs a package's `__init__` before any of its submodules, and two Powertools packages
import everything they hold there: `event_handler` every resolver (AppSync and AppSync Events,
which import asyncio; Bedrock agents; VPC Lattice; function URLs; the local HTTP resolver), and
`utilities.data_classes` the data class of every event source (about 40 modules), of which
the API Gateway resolver needs its own few. So both packages are registered with their
`__init__` deferred, and each name is imported from the submodule that defines it when it is
first asked for. Measured on the nginx hook (import + first client, minimum of 9 runs):
314 ms → 303 ms for `event_handler`; `make bench` prints the full first-invocation ratios.

Nothing is lost: a name the package's `__init__` takes from a submodule is imported from that
submodule (the same object), any other name runs the `__init__` as published (once), and a
submodule name imports the submodule; so `from aws_lambda_powertools.event_handler import
AppSyncResolver` elsewhere still works.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

DEFERRED = ("aws_lambda_powertools.event_handler", "aws_lambda_powertools.utilities.data_classes")
_IMPORT = re.compile(r"^from (?:\.|(?P<absolute>[\w.]+)\.)(?P<module>\w+) import (?P<names>\([^)]*\)|[^\n]*)", re.M)


def _origins(package: str, source: str) -> dict[str, tuple[str, str]]:
    """Each name the package's __init__ imports from one of its submodules: (submodule, name there)."""
    found: dict[str, tuple[str, str]] = {}
    for match in _IMPORT.finditer(source):
        if match["absolute"] not in (None, package):
            continue
        for part in match["names"].strip("()").split(","):
            words = part.split()
            if len(words) == 1:
                found[words[0]] = (match["module"], words[0])
            elif len(words) == 3 and words[1] == "as":
                found[words[2]] = (match["module"], words[0])
    return found


def defer_package_init(name: str) -> None:
    if name in sys.modules:
        return  # already imported in full (tests, or a function that needs more of it)
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.origin is None:
        return
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader
    origins = _origins(name, Path(spec.origin).read_text())
    ran: list[bool] = []

    def __getattr__(attribute: str) -> Any:  # PEP 562: only for names not yet in the package
        if attribute in origins:
            module, original = origins[attribute]
            value = getattr(importlib.import_module(f"{name}.{module}"), original)
            setattr(package, attribute, value)
            return value
        if not attribute.startswith("__") and importlib.util.find_spec(f"{name}.{attribute}") is not None:
            return importlib.import_module(f"{name}.{attribute}")
        if not ran:
            ran.append(True)
            loader.exec_module(package)  # the package's own __init__, as published
        if attribute in package.__dict__:
            return package.__dict__[attribute]
        raise AttributeError(f"module {name!r} has no attribute {attribute!r}")

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, package)


for _package in DEFERRED:
    defer_package_init(_package)

from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver, Response  # noqa: E402

__all__ = ["APIGatewayRestResolver", "Response"]
