"""Bytecode for what Lambda runs: `make build` runs this on `.aws-sam/build` after `sam build`.

SAM's Python builder ships source only: it leaves `*.pyc` and `__pycache__` out of the code it
copies, and unpacks the requirements' wheels without compiling them. Lambda's /var/task and /opt
are read-only, so every cold start compiled the layer (streamauth, Powertools, PyJWT, the Python
half of cryptography) and the function again, and threw the result away: measured with `make
bench`, the hot functions' full cold start was 1.9x a bare boto3 floor in CPU time as built, 1.4x
with bytecode (docs/performance.md). This compiles every `.py` under the build with the Lambda
runtime's Python (the template's `Runtime`; bytecode is specific to a Python minor version),
as `unchecked-hash` pycs (PEP 552): used without comparing the source's modification time,
which a zip and its extraction do not keep exactly. The deployed code is never edited in place,
so a pyc cannot go stale. Tracebacks name the paths Lambda has (/var/task, /opt/python).

    python -m localapi.bytecode .aws-sam/build
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from localapi import template as tpl


def runtime_version(template: dict[str, object] | None = None) -> str:
    """The functions' Python ("3.12"), from the template's Globals."""
    runtime = str((template or tpl.load())["Globals"]["Function"]["Runtime"])  # type: ignore[index]
    return runtime.removeprefix("python")


def interpreter(version: str) -> str | None:
    """A Python of `version` on this machine: this one, else `python<version>` on the PATH."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    return shutil.which(f"python{version}")


def compile_tree(root: Path, shown_as: str, python: str) -> None:
    """Every .py under `root` compiled in place as unchecked-hash pycs (any earlier ones removed),
    named `shown_as`/<relative path> in tracebacks."""
    for cache in [p for p in root.rglob("__pycache__") if p.is_dir()]:
        shutil.rmtree(cache)
    command = [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
    subprocess.run([*command, "-s", str(root), "-p", shown_as, str(root)], check=True, stdout=subprocess.DEVNULL)


def compile_build(build: Path) -> list[Path]:
    """Each artifact `sam build` made: a layer's python/ as /opt/python, a function as /var/task."""
    version = runtime_version()
    python = interpreter(version)
    if python is None:
        print(
            f"no python{version} here: the build ships source only, and each cold start compiles it"
            " (docs/performance.md, Cold starts and SnapStart)",
            file=sys.stderr,
        )
        return []
    done = []
    for artifact in sorted(p for p in build.iterdir() if p.is_dir()):
        layer = artifact / "python"
        root, shown_as = (layer, "/opt/python") if layer.is_dir() else (artifact, "/var/task")
        compile_tree(root, shown_as, python)
        done.append(root)
    return done


def main() -> None:
    build = Path(sys.argv[1] if len(sys.argv) > 1 else ".aws-sam/build")
    if not build.is_dir():
        sys.exit(f"{build} is not a directory: run `sam build` first (make build runs both)")
    done = compile_build(build)
    print(f"bytecode (unchecked-hash, Python {runtime_version()}) for {len(done)} artifacts in {build}")


if __name__ == "__main__":
    main()
