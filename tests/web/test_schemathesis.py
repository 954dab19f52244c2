"""Property-based API testing: schemathesis on /openapi.json over real HTTP finds no 5xx or schema drift."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.live import free_port

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)


def tidings(home: Path, *args: str) -> str:
    """Run the CLI against home and return stdout."""
    env = {**os.environ, "TIDINGS_HOME": str(home), "TIDINGS_ENRICH": "0"}
    return subprocess.run(
        [sys.executable, "-m", "tidings", *args], env=env, check=True, capture_output=True, text=True
    ).stdout


@pytest.mark.slow
def test_schemathesis_finds_no_server_errors_or_schema_violations(tmp_path: Path) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    if st is None:
        pytest.skip("schemathesis is not installed")
    seed = tmp_path / "seed.jsonl"
    seed.write_text(
        "".join(
            json.dumps(
                {
                    "url": f"https://fuzz.example/{i}",
                    "title": f"Quiet news item {i}",
                    "text": f"Nothing much happened in the village on day {i}. " * 5,
                }
            )
            + "\n"
            for i in range(5)
        )
    )
    home = tmp_path / "home"
    tidings(home, "ingest", str(seed), "--json")
    tidings(home, "user", "add", "fuzzer", "--json")
    token = json.loads(tidings(home, "user", "token", "fuzzer", "--json"))["token"]
    port = free_port()
    env = {
        **os.environ,
        "TIDINGS_HOME": str(home),
        "TIDINGS_ENRICH": "0",
        "TIDINGS_BACKGROUND_REFRESH": "0",
        "TIDINGS_SUBSCRIBE_STARTER": "0",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "tidings", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        run = subprocess.run(
            [
                st,
                "run",
                f"{base}/openapi.json",
                "-H",
                f"Authorization: Bearer {token}",
                "-n",
                "15",
                "--generation-deterministic",
                "--checks",
                CHECKS,
                "--no-color",
                "--request-timeout",
                "10",
                # Revoking tokens or ending the session would revoke the fuzzer's own credentials mid-run.
                "--exclude-path-regex",
                "(tokens/|session)",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,  # schemathesis keeps its .schemathesis/ cache here, not in the working tree
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "Authentication failed" not in run.stdout, run.stdout[-4000:]
    assert re.search(r"\d+ generated, \d+ passed", run.stdout) and not re.search(r"\d+ failed", run.stdout)
