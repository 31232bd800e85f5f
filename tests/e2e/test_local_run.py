"""`make run` as a person runs it: a taken port is one line naming PORT=, and the data a user
created survives Ctrl-C and a restart (`.local/state.json`; here a temporary STATE=), while
FRESH=1 starts empty."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from localapi.runtime import free_port
from tests.conftest import ROOT, issue_over_http

pytestmark = pytest.mark.e2e
# no npm step (the docs page's and the console's assets): not what these tests are about
MAKE = ["make", "-s", "--no-print-directory", "DOCS_DEPS=", "CONSOLE_DEPS="]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}


def test_a_taken_port_is_one_line_naming_port_and_no_traceback() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run(
            [*MAKE, "run", f"PORT={port}"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120
        )
    assert run.returncode != 0
    ours = [line for line in (run.stdout + run.stderr).splitlines() if not line.startswith("make")]
    assert len(ours) == 1, ours
    assert f"port {port} is in use" in ours[0] and f"PORT={port + 1} make run" in ours[0]
    assert "Traceback" not in run.stderr


@contextmanager
def make_run(port: int, state: Path, *extra: str) -> Iterator[tuple[str, str]]:
    """`make run` on `port` with its data in `state`; stopped as Ctrl-C stops it. Yields the URL
    and, once stopped, nothing more: the output is read after."""
    log = state.with_suffix(f".{port}.log")
    with open(log, "w") as output:
        process = subprocess.Popen(
            [*MAKE, "run", f"PORT={port}", f"STATE={state}", *extra],
            cwd=ROOT,
            env=_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the terminal's Ctrl-C reaches make and the runner
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                assert process.poll() is None, log.read_text()
                try:
                    requests.get(url + "/", timeout=2)
                    break
                except requests.ConnectionError:
                    assert time.monotonic() < deadline, "make run did not start:\n" + log.read_text()
                    time.sleep(0.3)
            yield url, str(log)
        finally:
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_data_survives_a_restart_and_fresh_starts_empty(tmp_path: Path, operator_header: dict[str, str]) -> None:
    state = tmp_path / "state.json"
    port = free_port()
    with make_run(port, state) as (url, _):
        token = issue_over_http(url, operator_header, "kept", "play")
        created = requests.post(
            f"{url}/v2/broadcasts/kept/subscribers",
            json={"subscriberId": "alice", "type": "play"},
            headers=operator_header,
            timeout=30,
        )
        assert created.status_code == 200, created.text
    assert state.exists() and oct(state.stat().st_mode & 0o777) == "0o600"

    def listed(url: str) -> tuple[set[str], set[str]]:
        tokens = requests.get(f"{url}/v2/broadcasts/kept/tokens/list/0/50", headers=operator_header, timeout=30)
        subscribers = requests.get(
            f"{url}/v2/broadcasts/kept/subscribers/list/0/50", headers=operator_header, timeout=30
        )
        assert tokens.status_code == 200 and subscribers.status_code == 200
        return {t["tokenId"] for t in tokens.json()}, {s["subscriberId"] for s in subscribers.json()}

    with make_run(port, state) as (url, log):
        assert listed(url) == ({token}, {"alice"})
        assert "items restored from" in Path(log).read_text()
    with make_run(port, state, "FRESH=1") as (url, _):
        assert listed(url) == (set(), set())
