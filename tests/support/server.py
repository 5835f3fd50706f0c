"""Start the real application server (uvicorn) in a child process, bound to loopback, for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class AppServer:
    """``uvicorn trialdesk...create_app`` on 127.0.0.1 with its own database URL."""

    def __init__(
        self, database_url: str, data_dir: Path, workers: int = 1, env: dict[str, str] | None = None
    ) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self.workers = workers
        self.env = env or {}
        """Extra environment of the server process (e.g. ``TRIALDESK_DEMO=1``)."""
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        env = {
            **os.environ,
            "TRIALDESK_DATABASE_URL": self.database_url,
            "TRIALDESK_DATA_DIR": str(self.data_dir),
            **self.env,
        }
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "trialdesk.entrypoints.api.app:create_server_app",  # as `trialdesk serve` runs it
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--log-level",
            "warning",
        ]
        log = open(self.data_dir / f"server-{self.port}.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited early; log: {(self.data_dir / f'server-{self.port}.log').read_text()}"
                )
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        self.kill()
        raise RuntimeError("server did not answer /health in time")

    def kill(self) -> None:
        """SIGKILL the whole server process group (no graceful shutdown: a crash)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
