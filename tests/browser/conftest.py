"""A real `harmony serve` on a fresh SQLite file and a headless Chromium (Debian's
`chromium` and `chromium-driver`) driven by Selenium, for the console's end-to-end tests.

Every test saves screenshots under target/screenshots/ (`shot`). Waits are explicit
(WebDriverWait on a condition), never sleeps."""

import json
import os
import socket
import subprocess
import tempfile

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
BIN = os.environ.get("HARMONY_BIN", os.path.join(ROOT, "target/debug/harmony"))
SHOTS = os.path.join(ROOT, "target/screenshots")
PASSWORD = "browser-test-password"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, base, env, tmp):
        self.base = base
        self.env = env
        self.tmp = tmp
        self.counter = 0

    def url(self, path):
        return self.base + path

    def create_user(self, prefix, admin=False):
        """A fresh account (by the command line, as an operator would) and its username."""
        self.counter += 1
        name = f"{prefix}{self.counter}"
        cmd = [BIN, "user", "create", name, "--email", f"{name}@example.com", "--password-stdin"]
        if admin:
            cmd.append("--admin")
        subprocess.run(cmd, input=PASSWORD + "\n", text=True, check=True, env=self.env,
                       stdout=subprocess.DEVNULL)
        return name


@pytest.fixture(scope="session")
def server():
    tmp = tempfile.mkdtemp(prefix="harmony-browser-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, HARMONY_LOG="warn", HARMONY_DATABASE_URL=f"sqlite://{tmp}/h.db",
               HARMONY_DATA_DIR=f"{tmp}/data", HARMONY_PUBLIC_URL=base,
               HARMONY_ARGON2_MEMORY_KIB="1024", HARMONY_ARGON2_ITERATIONS="1",
               HARMONY_RATE_LIMIT_TOKEN="0", HARMONY_RATE_LIMIT_ANONYMOUS="0")
    proc = subprocess.Popen([BIN, "serve", "--bind", f"127.0.0.1:{port}", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        # The first start prints its banner once the listener is bound: ready, no waiting.
        line = proc.stdout.readline()
        if not line:
            proc.wait(timeout=30)
            raise RuntimeError(f"harmony serve exited before its banner:\n{proc.stderr.read()}")
        json.loads(line)
        assert requests.get(base + "/health", timeout=30).json() == {"status": "ok"}
        yield Server(base, env, tmp)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def make_driver(javascript=True):
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", "--lang=en-US"):
        options.add_argument(arg)
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2})
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(options=options, service=service)


@pytest.fixture
def driver():
    d = make_driver()
    yield d
    d.quit()


@pytest.fixture
def nojs_driver():
    d = make_driver(javascript=False)
    yield d
    d.quit()


def wait(driver, condition, timeout=15):
    return WebDriverWait(driver, timeout).until(condition)


def gone(element):
    """A wait condition: ELEMENT belongs to a page the browser has left.

    Selenium's `staleness_of` expects StaleElementReferenceException, but when the
    check lands while the next page replaces the old one, chromedriver may answer
    "Node with given id does not belong to the document" as an unknown error; that
    too means the old page is gone."""

    def check(_driver):
        try:
            element.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in (error.msg or ""):
                return True
            raise

    return check


def shot(driver, name):
    """Saves a screenshot of the whole page (desktop width) as target/screenshots/NAME.png."""
    os.makedirs(SHOTS, exist_ok=True)
    path = os.path.join(SHOTS, f"{name}.png")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(900, min(height + 120, 4000)))
    driver.save_screenshot(path)
    driver.set_window_size(1280, 900)
    return path


def narrow(driver, name):
    """Emulates a 375 px wide phone, checks that nothing scrolls sideways, saves NAME-375.png."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 375, "height": 812, "deviceScaleFactor": 1, "mobile": True})
    try:
        wait(driver, lambda d: d.execute_script("return window.innerWidth") == 375)
        scroll = driver.execute_script("return document.documentElement.scrollWidth")
        inner = driver.execute_script("return window.innerWidth")
        os.makedirs(SHOTS, exist_ok=True)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": 375, "height": max(812, min(height, 4000)), "deviceScaleFactor": 1,
            "mobile": True})
        driver.save_screenshot(os.path.join(SHOTS, f"{name}-375.png"))
        assert scroll <= inner, f"{name}: {scroll} px wide in a {inner} px viewport"
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def sign_in(driver, server, username, path="/console", base=None):
    driver.get((base or server.base) + path)
    wait(driver, EC.presence_of_element_located((By.ID, "username")))
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit][value=login]").click()
    wait(driver, EC.presence_of_element_located((By.ID, "account")))


def flash_text(driver):
    return wait(driver, EC.presence_of_element_located((By.ID, "flash"))).text
