"""A real nginx with libnginx-mod-rtmp asking the local API, and ffmpeg as publisher and player:
what the e2e tests share. Debian's packages (nginx, libnginx-mod-rtmp, ffmpeg; .ci/run installs
them)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from localapi.runtime import free_port
from tests.conftest import ROOT

RTMP_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
FFMPEG = shutil.which("ffmpeg")
NGINX_AVAILABLE = bool(RTMP_MODULE.exists() and Path(NGINX).exists() and FFMPEG)


def hook_url(local_api: str) -> str:
    """`make -s hook-url` for the running local API."""
    return subprocess.run(
        [sys.executable, "-m", "localapi", "hook-url", "--base", local_api],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@contextmanager
def start_nginx(local_api: str, prefix: Path, update_timeout: int = 10, strict: bool = True) -> Iterator[str]:
    """nginx-rtmp with every hook pointed at the local API, as the README configures it; yields
    the application's rtmp:// URL."""
    hook = hook_url(local_api)
    (prefix / "logs").mkdir(exist_ok=True)
    port = free_port()
    (prefix / "nginx.conf").write_text(
        f"""
load_module {RTMP_MODULE};
daemon off;
master_process off;
user root;
error_log {prefix}/logs/error.log info;
pid {prefix}/nginx.pid;
events {{ worker_connections 64; }}
rtmp {{
  server {{
    listen 127.0.0.1:{port};
    application live {{
      live on;
      on_publish {hook}/nginx-rtmp;
      on_play {hook}/nginx-rtmp;
      on_publish_done {hook}/nginx-rtmp;
      on_play_done {hook}/nginx-rtmp;
      on_update {hook}/nginx-rtmp;
      notify_update_timeout {update_timeout}s;
      notify_update_strict {"on" if strict else "off"};
    }}
  }}
}}
"""
    )
    process = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf")])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("nginx did not listen:\n" + (prefix / "logs/error.log").read_text())
    try:
        yield f"rtmp://127.0.0.1:{port}/live"
    finally:
        process.terminate()
        process.wait(timeout=10)


def publish_args(url: str, seconds: int) -> list[str]:
    assert FFMPEG is not None
    source = ["-re", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", str(seconds)]
    # a keyframe every second (10 frames), so HLS can cut 1 s fragments
    return [FFMPEG, "-hide_banner", "-loglevel", "error", *source, "-c:v", "libx264", "-g", "10", "-f", "flv", url]


def play_args(url: str, seconds: int = 1) -> list[str]:
    """Read `seconds` of the stream, as a viewer's player would. Its first second tells ffmpeg the
    stream's codecs (publish_args' keyframe interval): ffmpeg's default of 5 s made every play 5 s
    longer."""
    assert FFMPEG is not None
    probe = ["-analyzeduration", "1000000"]  # microseconds
    return [FFMPEG, "-hide_banner", "-loglevel", "error", *probe, "-i", url, "-t", str(seconds), "-f", "null", "-"]


@contextmanager
def relay_from(source: str, url: str) -> Iterator[str]:
    """`url` (rtmp://127.0.0.1:<port>/<app>) as reached from the loopback address `source`
    (127.0.0.2): a TCP relay that listens on `source` and opens each connection to the server
    from `source`, so the server's peer (nginx-rtmp's `addr`) is `source`. Debian's ffmpeg 5.1
    has no local-address option (`ffmpeg -h protocol=tcp` lists none), so the client stays real
    ffmpeg and the relay only picks its source address. Yields the URL to give ffmpeg."""
    target = urlsplit(url)
    assert target.hostname is not None and target.port is not None
    listener = socket.create_server((source, 0))
    open_sockets: list[socket.socket] = [listener]

    def pump(reader: socket.socket, writer: socket.socket) -> None:
        try:
            while data := reader.recv(65536):
                writer.sendall(data)
        except OSError:
            pass
        finally:  # pass the end on: either side closing ends the other
            for side in (writer, reader):
                with contextlib.suppress(OSError):
                    side.shutdown(socket.SHUT_RDWR)

    def serve() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed: the relay is over
                return
            upstream = socket.create_connection((target.hostname, target.port), source_address=(source, 0))
            open_sockets.extend((client, upstream))
            for reader, writer in ((client, upstream), (upstream, client)):
                threading.Thread(target=pump, args=(reader, writer), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield target._replace(netloc=f"{source}:{listener.getsockname()[1]}").geturl()
    finally:
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
