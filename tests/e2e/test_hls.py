"""HLS protected end to end, with real software: nginx-rtmp writing HLS, nginx `http` serving it
behind `auth_request` -> the local API, ffmpeg publishing and playing. The nginx configuration
is the README's `nginx-hls` block, verbatim but for its placeholders."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from localapi.runtime import free_port
from tests.conftest import ROOT, issue_over_http
from tests.e2e.rtmp import FFMPEG, NGINX, NGINX_AVAILABLE, RTMP_MODULE, hook_url, publish_args

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not NGINX_AVAILABLE, reason="needs Debian's nginx, libnginx-mod-rtmp and ffmpeg"),
]

CACHE_SECONDS = 10  # PlaybackCacheSeconds' default: how long nginx may reuse an allow


def readme_block() -> str:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- nginx-hls:start -->\s*```nginx\n(.*?)```\s*<!-- nginx-hls:end -->", readme, re.S)
    assert block, "README lost its nginx-hls block"
    return block.group(1)


HLS_DIRS: list[Path] = []  # the origin's HLS directory, for a second nginx serving the same files


@contextlib.contextmanager
def nginx_origin(local_api: str, prefix: Path) -> Iterator[tuple[str, str, Path]]:
    """The README's nginx-hls block, verbatim but for its placeholders, run by real nginx in
    `prefix`: (rtmp URL of the `live` application, http URL of the origin, its HLS directory)."""
    (prefix / "logs").mkdir(parents=True)
    hls = prefix / "hls"
    hls.mkdir()
    rtmp_port, http_port = free_port(), free_port()
    block = (
        readme_block()
        .replace("<hook-url>", hook_url(local_api))
        .replace("<hls-path>", str(hls))
        .replace("<rtmp-port>", f"127.0.0.1:{rtmp_port}")
        .replace("<http-port>", f"127.0.0.1:{http_port}")
    )
    (prefix / "nginx.conf").write_text(
        f"load_module {RTMP_MODULE};\ndaemon off;\nmaster_process off;\nuser root;\n"
        f"error_log {prefix}/logs/error.log info;\npid {prefix}/nginx.pid;\nevents {{ worker_connections 128; }}\n"
        + block
    )
    process = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf")])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and process.poll() is None:
        try:
            requests.get(f"http://127.0.0.1:{http_port}/", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    if process.poll() is not None:
        raise RuntimeError("nginx did not start:\n" + (prefix / "logs/error.log").read_text())
    try:
        yield f"rtmp://127.0.0.1:{rtmp_port}/live", f"http://127.0.0.1:{http_port}", hls
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def publishing(local_api: str, operator: dict[str, str], rtmp: str, http: str, stream: str) -> Iterator[str]:
    """`stream` published through the origin with a publish token until the block ends; its
    playlist's path, once it lists three segments."""
    token = issue_over_http(local_api, operator, stream, "publish")
    publisher = subprocess.Popen(
        publish_args(f"{rtmp}/{stream}?token={token}", 600), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    playlist = f"/hls/{stream}/index.m3u8"
    deadline = time.monotonic() + 30
    probe = issue_over_http(local_api, operator, stream, "play", kind="jwt-token")
    while time.monotonic() < deadline:
        reply = requests.get(f"{http}{playlist}", params={"token": probe}, timeout=10)
        if reply.status_code == 200 and reply.text.count(".ts") >= 3:
            break
        time.sleep(0.5)
    else:
        publisher.kill()
        raise AssertionError(f"no playlist with 3 segments: last answer {reply.status_code} {reply.text[:300]}")
    try:
        yield playlist
    finally:
        publisher.kill()
        publisher.wait(timeout=10)


@pytest.fixture(scope="module")
def origin(local_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(rtmp URL of the `live` application, http URL of the origin)."""
    with nginx_origin(local_api, tmp_path_factory.mktemp("nginx-hls")) as (rtmp, http, hls):
        HLS_DIRS.append(hls)
        yield rtmp, http


@pytest.fixture(scope="module")
def live(origin: tuple[str, str], local_api: str, operator_header: dict[str, str]) -> Iterator[str]:
    """stream1 published for the module's tests (with a publish token); its playlist's path."""
    with publishing(local_api, operator_header, *origin, "stream1") as playlist:
        yield playlist


def _play(url: str, seconds: int = 4) -> subprocess.CompletedProcess[str]:
    assert FFMPEG is not None
    command = [FFMPEG, "-hide_banner", "-loglevel", "verbose", "-i", url, "-t", str(seconds), "-f", "null", "-"]
    return subprocess.run(command, capture_output=True, text=True, timeout=90)


def _segments_read(run: subprocess.CompletedProcess[str]) -> int:
    return len(re.findall(r"Opening '[^']+\.ts' for reading", run.stderr))


def test_ffmpeg_plays_with_a_one_time_token_for_at_least_three_segments(
    origin: tuple[str, str], live: str, local_api: str, operator_header: dict[str, str]
) -> None:
    _, http = origin
    token = issue_over_http(local_api, operator_header, "stream1", "play")
    run = _play(f"{http}{live}?token={token}")
    assert run.returncode == 0, run.stderr[-2000:]
    assert _segments_read(run) >= 3, run.stderr[-2000:]
    # the one-time token was used by this viewer: another viewer presenting it is refused
    again = _play(f"{http}{live}?token={token}", seconds=1)
    assert again.returncode != 0 and "403" in again.stderr


@pytest.mark.parametrize("case", ["no-token", "other-stream", "garbage"])
def test_refused_viewers(
    origin: tuple[str, str], live: str, local_api: str, operator_header: dict[str, str], case: str
) -> None:
    _, http = origin
    query = {
        "no-token": "",
        "other-stream": "?token=" + issue_over_http(local_api, operator_header, "stream2", "play"),
        "garbage": "?token=nope",
    }[case]
    assert requests.get(f"{http}{live}{query}", timeout=10).status_code == 403
    assert _play(f"{http}{live}{query}", seconds=1).returncode != 0


def test_the_block_is_the_readmes(tmp_path: Path) -> None:
    block = readme_block()
    for placeholder in ("<hook-url>", "<hls-path>", "<http-port>", "<rtmp-port>"):
        assert placeholder in block
    assert "auth_request /_streamauth;" in block and "notify_update_strict on;" in block


def _hook_calls(log: Path) -> int:
    return log.read_text().count("GET /hooks/***/http ")


def test_streamauth_calls_per_viewer_minute_with_and_without_nginx_caching(
    origin: tuple[str, str], live: str, local_api: str, operator_header: dict[str, str], tmp_path: Path
) -> None:
    """Records (never asserts timings) what a viewer costs: checks per minute and the latency a
    segment gains, through the README's block and through the same block without its cache."""
    import json
    import statistics

    _, http = origin
    log = ROOT / ".build" / "local-api-tests.log"
    numbers: dict[str, dict[str, float]] = {}
    for variant in ("cached", "uncached"):
        base = http
        uncached: subprocess.Popen[bytes] | None = None
        if variant == "uncached":  # the same block, its proxy_cache lines removed
            port = free_port()
            block = "\n".join(line for line in readme_block().splitlines() if "proxy_cache" not in line)
            block = re.sub(r"rtmp \{.*?\n\}\n", "", block, flags=re.S)  # its http part only
            hls = HLS_DIRS[-1]
            conf = (
                f"daemon off;\nmaster_process off;\nuser root;\nerror_log {tmp_path}/error.log;\n"
                f"pid {tmp_path}/nginx.pid;\nevents {{ worker_connections 64; }}\n"
                + block.replace("<hook-url>", hook_url(local_api))
                .replace("<hls-path>", str(hls))
                .replace("<http-port>", f"127.0.0.1:{port}")
            )
            (tmp_path / "nginx.conf").write_text(conf)
            uncached = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")])
            time.sleep(1)
            base = f"http://127.0.0.1:{port}"
        try:
            before = _hook_calls(log)
            token = issue_over_http(local_api, operator_header, "stream1", "play", kind="jwt-token")
            started = time.monotonic()
            run = _play(f"{base}{live}?token={token}", seconds=20)
            minutes = (time.monotonic() - started) / 60
            assert run.returncode == 0, run.stderr[-1000:]
            calls = _hook_calls(log) - before
            session = requests.Session()
            playlist = session.get(f"{base}{live}", params={"token": token}, timeout=10)
            segment = next(line for line in playlist.text.splitlines() if line.endswith(".ts"))
            timings = []
            for _ in range(20):
                begun = time.perf_counter()
                assert session.get(f"{base}/hls/stream1/{segment}", timeout=10).status_code == 200
                timings.append((time.perf_counter() - begun) * 1000)
            numbers[variant] = {
                "calls_per_viewer_minute": round(calls / minutes, 1),
                "segment_fetch_ms_median": round(statistics.median(timings), 2),
                "segments_read": _segments_read(run),
            }
        finally:
            if uncached is not None:
                uncached.terminate()
                uncached.wait(timeout=10)
    (ROOT / ".build" / "hls-numbers.json").write_text(json.dumps(numbers, indent=2) + "\n")
    assert numbers["cached"]["calls_per_viewer_minute"] < numbers["uncached"]["calls_per_viewer_minute"]


NPM_PREFIX = ROOT / ".build" / "npm"  # `make browser`: hls.js and playwright-core, pinned
CHROMIUM = shutil.which("chromium")
NODE = shutil.which("node")
BROWSER_READY = bool(CHROMIUM and NODE and (NPM_PREFIX / "node_modules" / "playwright-core").is_dir())


def _browser(origin: str, playlist: str, screenshot: Path) -> dict[str, Any]:
    assert NODE is not None
    script = ROOT / "tests" / "e2e" / "browser" / "play.mjs"
    run = subprocess.run(
        [NODE, str(script), str(NPM_PREFIX), origin, playlist, str(screenshot), "25"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CHROMIUM": CHROMIUM or ""},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.skipif(not BROWSER_READY, reason="needs node, Debian's chromium and `make browser`")
def test_hls_js_in_headless_chromium_plays_with_a_play_token_and_not_without(
    origin: tuple[str, str], live: str, local_api: str, operator_header: dict[str, str]
) -> None:
    """hls.js in a browser: the playlist carries a one-time play token, streamauth answers with
    the playback cookie, and the browser sends it with every segment (same origin, as an
    operator's player page would be). Without a token the playlist is refused. Screenshots are
    kept in .build/ as artifacts."""
    _, http = origin
    token = issue_over_http(local_api, operator_header, "stream1", "play")
    played = _browser(http, f"{live}?token={token}", ROOT / ".build" / "hls-browser.png")
    assert played["supported"] is True
    assert played["fragments"] >= 3 and played["played"] >= 2, played  # segments decoded and shown
    assert "streamauth_playback" in played["cookies"], played
    assert not [error for error in played["errors"] if "403" in error], played
    RESULTS_BROWSER.write_text(json.dumps(played, indent=2) + "\n")
    refused = _browser(http, live, ROOT / ".build" / "hls-browser-refused.png")
    assert refused["fragments"] == 0, refused
    assert any(error.startswith("manifestLoadError:403") for error in refused["errors"]), refused


RESULTS_BROWSER = ROOT / ".build" / "hls-browser.json"


def test_last_a_copied_segment_url_needs_the_session_and_a_revocation_ends_it(
    origin: tuple[str, str], live: str, local_api: str, operator_header: dict[str, str]
) -> None:
    _, http = origin
    session = requests.Session()
    token = issue_over_http(local_api, operator_header, "stream1", "play")
    playlist = session.get(f"{http}{live}", params={"token": token}, timeout=10)
    assert playlist.status_code == 200 and "streamauth_playback" in session.cookies.get_dict()
    segment = next(line for line in playlist.text.splitlines() if line.endswith(".ts"))
    url = f"{http}/hls/stream1/{segment}"
    assert session.get(url, timeout=10).status_code == 200
    assert requests.get(url, timeout=10).status_code == 403  # copied without the session
    revoked = requests.delete(f"{local_api}/v2/broadcasts/stream1/tokens", headers=operator_header, timeout=30)
    assert revoked.json()["success"] is True
    time.sleep(CACHE_SECONDS + 1)  # nginx may answer from its cache until then (this test runs last: it revokes)
    assert session.get(url, timeout=10).status_code == 403
    assert session.get(f"{http}{live}", timeout=10).status_code == 403
