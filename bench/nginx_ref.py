"""An nginx (sendfile on, one worker) serving the very files Dockyard stored: the reference server.

It answers on the same URL paths as Dockyard's ``/resolve/`` so the real client can be pointed at
it too, and adds the one header ``hf_hub_download`` insists on (``X-Repo-Commit``).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
from harness import which

_CONF = """\
worker_processes 1;
daemon off;
{user}
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  types {{ }}
  default_type application/octet-stream;
  client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
  uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
  server {{
    listen 127.0.0.1:{port};
{locations}
  }}
}}
"""
_LOCATION = """\
    location = {url_path} {{
      alias {file};
      add_header X-Repo-Commit "{commit}" always;
    }}
"""


class Nginx:
    def __init__(self, root: Path, port: int, files: dict[str, Path], commit: str) -> None:
        """``files``: URL path -> file on disk."""
        self.root = root
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        (root / "tmp").mkdir(parents=True, exist_ok=True)
        locations = "".join(
            _LOCATION.format(url_path=url_path, file=path, commit=commit) for url_path, path in files.items()
        )
        # Workers drop to `nobody` when the master is root; the temp dirs are private, so stay root.
        user = "user root;" if os.geteuid() == 0 else ""
        self.conf = root / "nginx.conf"
        self.conf.write_text(_CONF.format(user=user, root=root, port=port, locations=locations))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        nginx = which("nginx")
        assert nginx is not None
        log = (self.root / "stdout.log").open("wb")
        self.process = subprocess.Popen(
            [nginx, "-c", str(self.conf), "-p", str(self.root)], stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.root / 'error.log').read_text(errors='replace')}")
            try:
                httpx.get(self.url + "/", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
