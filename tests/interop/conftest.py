"""Starts a real `harmony serve` on a fresh SQLite file for the interoperability tests and
hands them its URL and the first-start credentials (printed by the server as JSON)."""

import json
import os
import subprocess
import tempfile
import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests

BIN = os.environ.get("HARMONY_BIN", os.path.join(os.path.dirname(__file__), "../../target/debug/harmony"))


@pytest.fixture(scope="session")
def server():
    tmp = tempfile.mkdtemp(prefix="harmony-interop-")
    env = dict(os.environ, HARMONY_LOG="warn", HARMONY_DATABASE_URL=f"sqlite://{tmp}/h.db")
    proc = subprocess.Popen(
        [BIN, "serve", "--bind", "127.0.0.1:0", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )
    try:
        banner = json.loads(proc.stdout.readline())
        curl = urlparse(banner["curl"].removeprefix("curl '").rstrip("'"))
        base = f"{curl.scheme}://{curl.netloc}"
        for _ in range(100):
            try:
                requests.get(base + "/ping", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield {"base": base, **banner, "query": parse_qs(curl.query)}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
