"""The console in a real browser: the frame, applications, tokens, the sign-in and consent
pages, without JavaScript, at 375 px and in dark mode."""

import base64
import hashlib
import os
import sqlite3
from urllib.parse import urlencode

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from conftest import PASSWORD, flash_text, gone, narrow, shot, sign_in, wait

NAV = ["Account", "Tokens", "Applications", "Authorized apps", "Marketplace", "Projects"]


def rows(driver, list_id):
    return driver.find_elements(By.CSS_SELECTOR, f"#{list_id} > li")


def register(driver, server, name, redirect="", grants=None, kind="confidential", scopes=None):
    """Registers an application through the form; answers the flash text."""
    driver.get(server.url("/console/applications/new"))
    wait(driver, EC.presence_of_element_located((By.ID, "name"))).send_keys(name)
    if redirect:
        driver.find_element(By.ID, "redirect_uris").send_keys(redirect)
    if grants is not None:
        for box in driver.find_elements(By.NAME, "grant_type"):
            if box.is_selected() != (box.get_attribute("value") in grants):
                box.click()
    if scopes is not None:
        for box in driver.find_elements(By.NAME, "scope"):
            if box.is_selected() != (box.get_attribute("value") in scopes):
                box.click()
    driver.find_element(By.CSS_SELECTOR, f"input[name=kind][value={kind}]").click()
    driver.find_element(By.CSS_SELECTOR, "form.card button.primary").click()
    return flash_text(driver)


def secret(driver, label):
    for block in driver.find_elements(By.CSS_SELECTOR, "#flash .secret"):
        if block.find_element(By.TAG_NAME, "span").text.startswith(label):
            return block.find_element(By.TAG_NAME, "code").text
    raise AssertionError(f"no {label} shown")


def password_token(server, client_id, client_secret, username):
    return requests.post(server.url("/oauth/v2/token"), data={
        "grant_type": "password", "username": username, "password": PASSWORD,
        "client_id": client_id, "client_secret": client_secret}, timeout=30)


def test_the_frame_sign_in_navigation_404_and_favicon(driver, server):
    user = server.create_user("frame")
    driver.get(server.url("/console"))
    wait(driver, EC.presence_of_element_located((By.ID, "username")))
    assert driver.find_element(By.CSS_SELECTOR, "label[for=username]").text == "Username"
    assert driver.find_element(By.CSS_SELECTOR, "label[for=password]").text == "Password"
    shot(driver, "sign-in")
    narrow(driver, "sign-in")
    # A wrong password keeps the username and says so in words.
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys("wrong")
    driver.find_element(By.CSS_SELECTOR, "button[value=login]").click()
    alert = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "[role=alert]")))
    assert "Wrong username or password" in alert.text
    assert driver.find_element(By.ID, "username").get_attribute("value") == user
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[value=login]").click()
    wait(driver, EC.presence_of_element_located((By.ID, "account")))
    assert driver.find_element(By.ID, "account").text == user
    links = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "nav.main a")]
    assert links == NAV
    assert driver.find_element(By.CSS_SELECTOR, "nav.main button").text == "Sign out"
    assert driver.find_element(By.CSS_SELECTOR, "nav.main a[aria-current=page]").text == "Tokens"
    # The old settings page leads here.
    driver.get(server.url("/settings/api"))
    wait(driver, EC.url_to_be(server.url("/console/tokens")))
    # An unknown console page is an HTML page in the frame, not JSON.
    driver.get(server.url("/console/no-such-page"))
    heading = wait(driver, EC.presence_of_element_located((By.TAG_NAME, "h1")))
    assert heading.text == "Page not found"
    shot(driver, "not-found")
    icon = driver.find_element(By.CSS_SELECTOR, "link[rel=icon]").get_attribute("href")
    answer = requests.get(icon, timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/svg+xml"
    # Sign out: back to the sign-in page with a message.
    driver.get(server.url("/console/tokens"))
    wait(driver, EC.element_to_be_clickable((By.CSS_SELECTOR, "nav.main button"))).click()
    assert "signed out" in flash_text(driver)
    assert driver.find_elements(By.ID, "username")


def test_an_application_is_registered_once_its_secret_shown_once_and_it_works(driver, server):
    user = server.create_user("apps")
    sign_in(driver, server, user)
    driver.get(server.url("/console/applications/new"))
    wait(driver, EC.presence_of_element_located((By.ID, "name")))
    shot(driver, "application-new")
    narrow(driver, "application-new")
    # A wrong redirect URI: the form comes back with what was typed and a message in words
    # next to the field (not the API's field name).
    driver.find_element(By.ID, "name").send_keys("Deploy bot")
    driver.find_element(By.ID, "redirect_uris").send_keys("not a uri")
    driver.find_element(By.CSS_SELECTOR, "form.card button.primary").click()
    error = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, ".field-error")))
    assert "absolute URI" in error.text and "redirectUris" not in driver.page_source
    assert driver.find_element(By.ID, "name").get_attribute("value") == "Deploy bot"
    assert driver.find_element(By.ID, "redirect_uris").get_attribute("value") == "not a uri"
    assert driver.find_element(By.ID, "redirect_uris").get_attribute("aria-invalid") == "true"
    shot(driver, "application-form-error")
    driver.find_element(By.ID, "redirect_uris").clear()
    driver.find_element(By.ID, "redirect_uris").send_keys("https://deploy.example/cb")
    driver.find_element(By.CSS_SELECTOR, "input[name=grant_type][value=password]").click()
    driver.find_element(By.CSS_SELECTOR, "form.card button.primary").click()
    assert "registered" in flash_text(driver)
    assert driver.current_url == server.url("/console/applications")
    client_id = secret(driver, "client_id")
    client_secret = secret(driver, "client_secret")
    copy = driver.find_element(By.CSS_SELECTOR, "#flash button[data-copy]")
    assert copy.is_displayed()
    copy.click()
    shot(driver, "applications-secret")
    narrow(driver, "applications-secret")
    assert len(rows(driver, "applications")) == 1
    # A reload repeats nothing and shows the secret no more.
    driver.refresh()
    wait(driver, EC.presence_of_element_located((By.ID, "applications")))
    assert len(rows(driver, "applications")) == 1
    assert not driver.find_elements(By.ID, "flash")
    assert client_secret not in driver.page_source
    assert password_token(server, client_id, client_secret, user).status_code == 200
    shot(driver, "applications")
    narrow(driver, "applications")


def test_rotation_asks_first_and_a_reload_does_not_rotate_again(driver, server):
    user = server.create_user("rotate")
    sign_in(driver, server, user)
    register(driver, server, "Rotating app", grants=["password", "client_credentials"])
    client_id, old = secret(driver, "client_id"), secret(driver, "client_secret")
    driver.find_element(By.LINK_TEXT, "Rotate secret…").click()
    heading = wait(driver, EC.presence_of_element_located((By.TAG_NAME, "h1")))
    assert heading.text == "Rotate the secret?"
    shot(driver, "rotate-confirm")
    narrow(driver, "rotate-confirm")
    # Cancel changes nothing.
    driver.find_element(By.LINK_TEXT, "Cancel").click()
    wait(driver, EC.url_to_be(server.url("/console/applications")))
    assert password_token(server, client_id, old, user).status_code == 200
    driver.find_element(By.LINK_TEXT, "Rotate secret…").click()
    wait(driver, EC.element_to_be_clickable((By.CSS_SELECTOR, "button.danger"))).click()
    assert "New secret" in flash_text(driver)
    new = secret(driver, "client_secret")
    assert new != old
    driver.refresh()
    wait(driver, EC.presence_of_element_located((By.ID, "applications")))
    assert not driver.find_elements(By.ID, "flash")
    # The secret shown is still the one that works: the reload did not rotate again.
    assert password_token(server, client_id, new, user).status_code == 200
    refused = password_token(server, client_id, old, user)
    assert refused.json()["error"] == "invalid_client", refused.text
    # A rotation that keeps the old secret for an hour: both work, and the list says so.
    driver.find_element(By.LINK_TEXT, "Rotate secret…").click()
    grace = wait(driver, EC.presence_of_element_located((By.ID, "keep_old")))
    Select(grace).select_by_value("3600")
    driver.find_element(By.CSS_SELECTOR, "button.danger").click()
    assert "keeps working until" in flash_text(driver)
    newest = secret(driver, "client_secret")
    assert "previous secret still works until" in rows(driver, "applications")[0].text
    shot(driver, "applications-grace")
    for s in (new, newest):
        assert password_token(server, client_id, s, user).status_code == 200


def test_an_application_is_edited_and_deleted_after_confirmation(driver, server):
    user = server.create_user("edit")
    sign_in(driver, server, user)
    register(driver, server, "Old name", grants=["password"])
    driver.find_element(By.LINK_TEXT, "Edit").click()
    name = wait(driver, EC.presence_of_element_located((By.ID, "name")))
    assert name.get_attribute("value") == "Old name"
    shot(driver, "application-edit")
    narrow(driver, "application-edit")
    # No grant type at all is refused in words, next to the grant types.
    for box in driver.find_elements(By.NAME, "grant_type"):
        if box.is_selected():
            box.click()
    name.clear()
    name.send_keys("New name")
    driver.find_element(By.CSS_SELECTOR, "form.card button.primary").click()
    error = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, ".field-error")))
    assert "at least one grant type" in error.text
    assert driver.find_element(By.ID, "name").get_attribute("value") == "New name"
    driver.find_element(By.CSS_SELECTOR, "input[name=grant_type][value=refresh_token]").click()
    driver.find_element(By.CSS_SELECTOR, "input[name=grant_type][value=password]").click()
    driver.find_element(By.CSS_SELECTOR, "form.card button.primary").click()
    assert "saved" in flash_text(driver)
    row = rows(driver, "applications")[0]
    assert "New name" in row.text and "password, refresh_token" in row.text
    driver.find_element(By.LINK_TEXT, "Delete…").click()
    wait(driver, EC.element_to_be_clickable((By.CSS_SELECTOR, "button.danger")))
    shot(driver, "application-delete-confirm")
    driver.find_element(By.CSS_SELECTOR, "button.danger").click()
    assert "deleted" in flash_text(driver)
    assert not rows(driver, "applications")
    driver.refresh()
    wait(driver, EC.presence_of_element_located((By.TAG_NAME, "h1")))
    assert not driver.find_elements(By.ID, "flash")


def test_tokens_are_listed_per_grant_and_revoked_after_confirmation(driver, server):
    user = server.create_user("tokens")
    sign_in(driver, server, user)
    register(driver, server, "Token app", grants=["password", "refresh_token"])
    client_id, client_secret = secret(driver, "client_id"), secret(driver, "client_secret")
    first = password_token(server, client_id, client_secret, user).json()
    # A refresh stays in the same grant: still one row for it.
    refreshed = requests.post(server.url("/oauth/v2/token"), data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"],
        "client_id": client_id, "client_secret": client_secret}, timeout=30)
    assert refreshed.status_code == 200
    second = password_token(server, client_id, client_secret, user).json()
    driver.get(server.url("/console/tokens"))
    wait(driver, EC.presence_of_element_located((By.ID, "tokens")))
    assert len(rows(driver, "tokens")) == 2
    stamp = driver.find_element(By.CSS_SELECTOR, "#tokens time")
    assert stamp.get_attribute("title").endswith(" UTC")
    assert "UTC" not in stamp.text  # local time, by the script
    shot(driver, "tokens")
    narrow(driver, "tokens")
    driver.find_elements(By.LINK_TEXT, "Revoke…")[0].click()
    wait(driver, EC.element_to_be_clickable((By.CSS_SELECTOR, "button.danger")))
    shot(driver, "token-revoke-confirm")
    driver.find_element(By.CSS_SELECTOR, "button.danger").click()
    assert "revoked" in flash_text(driver)
    ended = driver.find_elements(By.CSS_SELECTOR, "#tokens > li.ended")
    assert len(ended) == 1 and "revoked" in ended[0].text
    me = lambda t: requests.get(server.url("/user"), timeout=30,
                                headers={"Authorization": f"Bearer {t}"}).status_code
    assert me(second["access_token"]) == 401
    assert me(refreshed.json()["access_token"]) == 200
    driver.refresh()
    wait(driver, EC.presence_of_element_located((By.ID, "tokens")))
    assert len(driver.find_elements(By.CSS_SELECTOR, "#tokens > li.ended")) == 1
    driver.find_element(By.LINK_TEXT, "Revoke all tokens…").click()
    wait(driver, EC.element_to_be_clickable((By.CSS_SELECTOR, "button.danger"))).click()
    assert "Every token revoked" in flash_text(driver)
    assert me(refreshed.json()["access_token"]) == 401
    assert len(driver.find_elements(By.CSS_SELECTOR, "#tokens > li.ended")) == 2
    assert driver.find_element(By.ID, "account").text == user  # still signed in


def test_everything_works_without_javascript(nojs_driver, server):
    driver = nojs_driver
    user = server.create_user("nojs")
    sign_in(driver, server, user)
    register(driver, server, "No script app", grants=["password"])
    client_id, client_secret = secret(driver, "client_id"), secret(driver, "client_secret")
    # The copy button needs the script: without it, it stays hidden; the secret is text.
    assert not driver.find_element(By.CSS_SELECTOR, "#flash button[data-copy]").is_displayed()
    shot(driver, "nojs-applications-secret")
    assert password_token(server, client_id, client_secret, user).status_code == 200
    driver.get(server.url("/console/tokens"))
    stamp = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "#tokens time")))
    assert stamp.text.endswith(" UTC")  # the server's rendering, exact
    driver.find_element(By.LINK_TEXT, "Revoke…").click()
    wait(driver, EC.element_to_be_clickable((By.CSS_SELECTOR, "button.danger"))).click()
    assert "revoked" in flash_text(driver)
    shot(driver, "nojs-tokens")
    shown = driver.find_element(By.ID, "flash")
    driver.find_element(By.CSS_SELECTOR, "nav.main button").click()
    wait(driver, gone(shown))
    assert "signed out" in flash_text(driver)


def test_dark_mode_follows_the_system(driver, server):
    user = server.create_user("dark")
    sign_in(driver, server, user)
    register(driver, server, "Dark app", grants=["password"])
    background = lambda: driver.execute_script(
        "return getComputedStyle(document.body).backgroundColor")
    light = background()
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    try:
        driver.refresh()
        wait(driver, lambda d: background() != light)
        rgb = [int(x) for x in background()[4:-1].split(",")[:3]]
        assert sum(rgb) < 150, rgb
        shot(driver, "applications-dark")
        narrow(driver, "applications-dark")
        driver.get(server.url("/console/tokens"))
        wait(driver, EC.presence_of_element_located((By.TAG_NAME, "h1")))
        shot(driver, "tokens-dark")
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def test_the_session_works_under_localhost_though_the_server_calls_itself_127_0_0_1(
        driver, server):
    user = server.create_user("host")
    local = server.base.replace("127.0.0.1", "localhost")
    sign_in(driver, server, user, path="/console/applications", base=local)
    assert driver.current_url == local + "/console/applications"
    register_url = local + "/console/applications/new"
    driver.get(register_url)
    wait(driver, EC.presence_of_element_located((By.ID, "name"))).send_keys("Local app")
    driver.find_element(By.CSS_SELECTOR, "input[name=grant_type][value=authorization_code]").click()
    driver.find_element(By.CSS_SELECTOR, "form.card button.primary").click()
    assert "registered" in flash_text(driver)
    assert driver.current_url.startswith(local)


def test_consent_names_the_owner_and_sets_authorize_apart_from_deny(driver, server):
    owner = server.create_user("owner")
    person = server.create_user("person")
    sign_in(driver, server, owner)
    register(driver, server, "Gallery app", redirect="http://127.0.0.1:9/callback",
             grants=["authorization_code"], kind="public")
    client_id = secret(driver, "client_id")
    shown = driver.find_element(By.ID, "flash")
    driver.find_element(By.CSS_SELECTOR, "nav.main button").click()
    wait(driver, gone(shown))
    assert "signed out" in flash_text(driver)
    verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"response_type": "code", "client_id": client_id,
                       "redirect_uri": "http://127.0.0.1:9/callback", "scope": "read",
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    driver.get(server.url("/oauth/v2/auth?" + query))
    wait(driver, EC.presence_of_element_located((By.ID, "username"))).send_keys(person)
    assert "Gallery app" in driver.page_source
    shot(driver, "authorize-sign-in")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[value=login]").click()
    owner_name = wait(driver, EC.presence_of_element_located((By.ID, "owner")))
    assert owner_name.text == owner
    approve = driver.find_element(By.CSS_SELECTOR, "button[value=approve]")
    deny = driver.find_element(By.CSS_SELECTOR, "button[value=deny]")
    colour = lambda e: e.value_of_css_property("background-color")
    assert colour(approve) != colour(deny)
    shot(driver, "consent")
    narrow(driver, "consent")
    # Authorize: the app gets its code; the person sees it under Authorized apps.
    approve.click()
    # The browser leaves for the app's redirect URI (nothing listens there).
    wait(driver, lambda d: "/oauth/v2/auth" not in d.current_url)
    driver.get(server.url("/console/authorized"))
    row = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "#authorized > li")))
    assert "Gallery app" in row.text and owner in row.text
    shot(driver, "authorized")
    narrow(driver, "authorized")
    driver.find_element(By.LINK_TEXT, "Revoke…").click()
    wait(driver, EC.element_to_be_clickable((By.CSS_SELECTOR, "button.danger")))
    shot(driver, "authorized-revoke-confirm")
    driver.find_element(By.CSS_SELECTOR, "button.danger").click()
    assert "Access revoked" in flash_text(driver)
    assert not driver.find_elements(By.CSS_SELECTOR, "#authorized > li")
    driver.refresh()
    wait(driver, EC.presence_of_element_located((By.TAG_NAME, "h1")))
    assert not driver.find_elements(By.ID, "flash")


def test_a_personal_access_token_is_generated_shown_once_and_works(driver, server):
    user = server.create_user("pat")
    sign_in(driver, server, user)
    driver.find_element(By.LINK_TEXT, "Generate new token").click()
    note = wait(driver, EC.presence_of_element_located((By.ID, "note")))
    # The date field appears only when a date is chosen (the script); the warning is there.
    assert not driver.find_element(By.ID, "expiry-date-field").is_displayed()
    Select(driver.find_element(By.ID, "expiry")).select_by_value("date")
    wait(driver, EC.visibility_of_element_located((By.ID, "expiry-date-field")))
    assert "never expires" in driver.page_source
    shot(driver, "token-new")
    narrow(driver, "token-new")
    # No note and no date: refused in words, what was chosen is kept.
    driver.find_element(By.CSS_SELECTOR, "input[name=scope][value=write]").click()
    driver.find_element(By.CSS_SELECTOR, "form.card button.primary").click()
    errors = wait(driver, EC.presence_of_all_elements_located((By.CSS_SELECTOR, ".field-error")))
    texts = " / ".join(e.text for e in errors)
    assert "what the token is for" in texts and "YYYY-MM-DD" in texts, texts
    assert driver.find_element(By.CSS_SELECTOR, "input[name=scope][value=write]").is_selected()
    assert Select(driver.find_element(By.ID, "expiry")).first_selected_option.get_attribute(
        "value") == "date"
    shot(driver, "token-new-error")
    driver.find_element(By.ID, "note").send_keys("CI deploys")
    Select(driver.find_element(By.ID, "expiry")).select_by_value("never")
    driver.find_element(By.CSS_SELECTOR, "form.card button.primary").click()
    assert "generated" in flash_text(driver)
    token = secret(driver, "token")
    assert token.startswith("hpat_")
    assert driver.find_element(By.CSS_SELECTOR, "#flash button[data-copy]").is_displayed()
    shot(driver, "tokens-personal")
    narrow(driver, "tokens-personal")
    me = requests.get(server.url("/user"), headers={"Authorization": f"Bearer {token}"},
                      timeout=30)
    assert me.status_code == 200 and me.json()["username"] == user
    driver.refresh()
    wait(driver, EC.presence_of_element_located((By.ID, "tokens")))
    assert token not in driver.page_source and not driver.find_elements(By.ID, "flash")
    row = rows(driver, "tokens")
    assert len(row) == 1 and "CI deploys" in row[0].text and "never expires" in row[0].text


def test_the_account_page_changes_the_profile_and_the_password(driver, server):
    user = server.create_user("account")
    sign_in(driver, server, user)
    driver.find_element(By.LINK_TEXT, "Account").click()
    email = wait(driver, EC.presence_of_element_located((By.ID, "email")))
    assert email.get_attribute("value") == f"{user}@example.com"
    for field in ("name", "email", "current_password", "new_password", "confirm_password"):
        assert driver.find_element(By.CSS_SELECTOR, f"label[for={field}]").text
    shot(driver, "account")
    narrow(driver, "account")
    email.clear()
    email.send_keys("broken")
    driver.find_element(By.ID, "name").send_keys("Ada")
    driver.find_element(By.CSS_SELECTOR, "form[action$='/console/account'] button").click()
    error = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, ".field-error")))
    assert driver.find_element(By.ID, "email").get_attribute("value") == "broken"
    assert driver.find_element(By.ID, "name").get_attribute("value") == "Ada"
    assert "email" not in error.text.lower() or error.text
    shot(driver, "account-error")
    driver.find_element(By.ID, "email").clear()
    driver.find_element(By.ID, "email").send_keys(f"{user}.new@example.com")
    driver.find_element(By.CSS_SELECTOR, "form[action$='/console/account'] button").click()
    assert "Profile saved" in flash_text(driver)
    driver.refresh()
    wait(driver, EC.presence_of_element_located((By.ID, "email")))
    assert not driver.find_elements(By.ID, "flash")
    # The password: the current one is required; afterwards this browser stays signed in.
    driver.find_element(By.ID, "current_password").send_keys(PASSWORD)
    driver.find_element(By.ID, "new_password").send_keys("a new browser password")
    driver.find_element(By.ID, "confirm_password").send_keys("a new browser password")
    driver.find_element(By.CSS_SELECTOR, "form[action$='/password'] button").click()
    assert "Password changed" in flash_text(driver)
    assert driver.find_element(By.ID, "account").text == user
    shown = driver.find_element(By.ID, "flash")
    driver.find_element(By.CSS_SELECTOR, "form[action$='/sign-out-everywhere'] button").click()
    wait(driver, gone(shown))
    assert "sign in again" in flash_text(driver)
    assert driver.find_elements(By.ID, "username")


def test_the_marketplace_and_projects_pages(driver, server):
    user = server.create_user("market")
    sign_in(driver, server, user)
    register(driver, server, "Publisher", grants=["password"], scopes=["read", "write"])
    client_id, client_secret = secret(driver, "client_id"), secret(driver, "client_secret")
    token = password_token(server, client_id, client_secret, user).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    manifest = ('{"name": "%s/gallery", "type": "harmony-theme", '
                '"description": "A photo gallery theme"}' % user)
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("composer.json", manifest)
        z.writestr("README.md", "# gallery\n")
    put = requests.put(server.url(f"/packages/{user}/gallery/versions/1.0.0"), data=buf.getvalue(),
                       headers={**auth, "Content-Type": "application/zip"}, timeout=30)
    assert put.status_code == 201, put.text
    assert requests.post(server.url("/projects"), json={"name": "Shop site"}, headers=auth,
                         timeout=30).status_code == 201
    driver.find_element(By.LINK_TEXT, "Marketplace").click()
    wait(driver, EC.presence_of_element_located((By.ID, "q"))).send_keys("gallery")
    Select(driver.find_element(By.ID, "type")).select_by_value("harmony-theme")
    driver.find_element(By.CSS_SELECTOR, "form[role=search] button").click()
    # The unfiltered list already shows the link: wait for the search's page, not that one.
    wait(driver, EC.url_contains("q=gallery"))
    link = wait(driver, EC.presence_of_element_located((By.LINK_TEXT, f"{user}/gallery")))
    shot(driver, "marketplace")
    narrow(driver, "marketplace")
    link.click()
    require = wait(driver, EC.presence_of_element_located((By.ID, "require")))
    assert require.text == f"composer require {user}/gallery"
    assert "1.0.0" in driver.find_element(By.ID, "versions").text
    shot(driver, "addon")
    narrow(driver, "addon")
    driver.find_element(By.LINK_TEXT, "Projects").click()
    row = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "#projects > li")))
    assert "Shop site" in row.text
    shot(driver, "projects")
    narrow(driver, "projects")


def age_sessions(server):
    """Every browser session signed in an hour ago (the server's SQLite database)."""
    with sqlite3.connect(os.path.join(server.tmp, "h.db")) as db:
        db.execute("UPDATE auth_sessions SET created_at = created_at - 3600")


def test_an_old_session_gives_the_password_again_before_rotating(driver, server):
    user = server.create_user("sudo")
    sign_in(driver, server, user)
    register(driver, server, "Sudo app", grants=["client_credentials"])
    client_id, old = secret(driver, "client_id"), secret(driver, "client_secret")
    age_sessions(server)
    driver.find_element(By.LINK_TEXT, "Rotate secret…").click()
    grace = wait(driver, EC.presence_of_element_located((By.ID, "keep_old")))
    Select(grace).select_by_value("3600")
    driver.find_element(By.CSS_SELECTOR, "button.danger").click()
    wait(driver, EC.presence_of_element_located((By.ID, "reauth_password")))
    assert driver.find_element(By.TAG_NAME, "h1").text == "Confirm your password"
    shot(driver, "reauth")
    narrow(driver, "reauth")
    # A wrong password: asked again, with the message next to the field.
    driver.find_element(By.ID, "reauth_password").send_keys("not the password")
    driver.find_element(By.CSS_SELECTOR, "button.danger").click()
    error = wait(driver, EC.presence_of_element_located((By.ID, "reauth_password-error")))
    assert "is not your password" in error.text
    shot(driver, "reauth-wrong")
    driver.find_element(By.ID, "reauth_password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button.danger").click()
    # The rotation went on with the grace chosen before the password was asked.
    assert "keeps working until" in flash_text(driver)
    new = secret(driver, "client_secret")
    for s in (old, new):
        got = requests.post(server.url("/oauth/v2/token"), auth=(client_id, s),
                            data={"grant_type": "client_credentials"}, timeout=30)
        assert got.status_code == 200, got.text
    driver.refresh()
    wait(driver, EC.presence_of_element_located((By.ID, "applications")))
    assert not driver.find_elements(By.ID, "flash")


def test_without_javascript_an_old_session_gives_the_password_before_revoking_all(
        nojs_driver, server):
    driver = nojs_driver
    user = server.create_user("sudonojs")
    sign_in(driver, server, user)
    age_sessions(server)
    driver.get(server.url("/console/tokens/revoke-all"))
    wait(driver, EC.element_to_be_clickable((By.CSS_SELECTOR, "button.danger"))).click()
    wait(driver, EC.presence_of_element_located((By.ID, "reauth_password"))).send_keys(PASSWORD)
    shot(driver, "nojs-reauth")
    driver.find_element(By.CSS_SELECTOR, "button.danger").click()
    assert "Every token revoked." in flash_text(driver)
