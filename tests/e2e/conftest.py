"""Start the local API the way a user does (`make run` runs `python -m localapi run`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def local_api() -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "localapi", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("local API exited:\n" + (process.stdout.read() if process.stdout else ""))
        try:
            requests.get(url + "/", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("local API did not start within 60 s")
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def operator_header() -> dict[str, str]:
    token = subprocess.run(
        [sys.executable, "-m", "localapi", "admin-token"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    return {"Authorization": f"Bearer {token}"}
