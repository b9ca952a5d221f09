"""Starts a real `harmony serve` on a fresh SQLite file for the interoperability tests and
hands them its URL and the first-start credentials (printed by the server as JSON)."""

import json
import os
import subprocess
import tempfile
from urllib.parse import parse_qs, urlparse

import pytest
import requests

BIN = os.environ.get("HARMONY_BIN", os.path.join(os.path.dirname(__file__), "../../target/debug/harmony"))


@pytest.fixture(scope="session")
def server():
    tmp = tempfile.mkdtemp(prefix="harmony-interop-")
    # No refresh grace window: the replay test checks RFC 9700's strict rule (the window
    # is covered by the API tests).
    env = dict(os.environ, HARMONY_LOG="warn", HARMONY_DATABASE_URL=f"sqlite://{tmp}/h.db",
               HARMONY_REFRESH_REUSE_GRACE="0")
    proc = subprocess.Popen(
        [BIN, "serve", "--bind", "127.0.0.1:0", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )
    try:
        line = proc.stdout.readline()
        if not line:
            proc.wait(timeout=30)
            raise RuntimeError(f"harmony serve exited before its banner:\n{proc.stderr.read()}")
        banner = json.loads(line)
        curl = urlparse(banner["curl"].removeprefix("curl '").rstrip("'"))
        base = f"{curl.scheme}://{curl.netloc}"
        # The banner comes after the listener is bound: the server is ready, no waiting.
        health = requests.get(base + "/health", timeout=30)
        assert health.json() == {"status": "ok"}, health.text
        yield {"base": base, **banner, "query": parse_qs(curl.query)}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
