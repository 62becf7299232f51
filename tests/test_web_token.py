"""`autoreward serve --host`: a non-local bind needs a token; with one, every request must carry it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from autoreward.cli import app as cli_app
from autoreward.web.access import is_local, serve_token
from autoreward.web.app import create_app

TOKEN = "a-test-token-0123456789"


def test_a_non_local_host_without_a_token_is_refused_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--port", "0", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--token" in lines[0] and "0.0.0.0" in lines[0], result.output
    assert "Traceback" not in result.output


def test_token_rules() -> None:
    assert is_local("127.0.0.1") and is_local("::1") and is_local("localhost") and not is_local("0.0.0.0")
    assert serve_token("127.0.0.1", None) is None
    generated = serve_token("0.0.0.0", "auto")
    assert generated is not None and len(generated) >= 16 and generated != serve_token("0.0.0.0", "auto")
    assert serve_token("0.0.0.0", TOKEN) == TOKEN


def test_with_a_token_every_request_must_carry_it(tmp_path: Path) -> None:
    client = TestClient(create_app(tmp_path, TOKEN))
    assert client.get("/").status_code == 401
    assert client.get("/api/runs").status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401
    assert client.get("/api/runs", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    first = client.get(f"/?token={TOKEN}")
    assert first.status_code == 200
    assert client.get("/api/runs").status_code == 200, "the cookie set by ?token= lets the page's links work"
    assert TestClient(create_app(tmp_path)).get("/api/runs").status_code == 200, "loopback without a token"


@pytest.mark.slow
def test_serve_on_all_interfaces_prints_a_generated_token_and_requires_it(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cli = str(Path(sys.executable).parent / "autoreward")
    proc = subprocess.Popen(
        [cli, "serve", "--host", "0.0.0.0", "--port", str(port), "--token", "auto", "--runs-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        token = line.split("?token=")[1].split()[0]
        base = f"http://127.0.0.1:{port}/api/runs"
        for _ in range(50):
            try:
                urllib.request.urlopen(base, timeout=2)
            except urllib.error.HTTPError as err:
                assert err.code == 401
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the server never answered")
        request = urllib.request.Request(base, headers={"Authorization": f"Bearer {token}"})
        assert urllib.request.urlopen(request, timeout=5).status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
