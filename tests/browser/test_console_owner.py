"""The console's Projects pages and the Marketplace owner's actions in a real browser:
create, edit, bind, unbind and delete a project; upload a version and switch visibility;
a reload after each action repeats nothing; at 375 px nothing scrolls sideways."""

import io
import os
import tempfile
import zipfile

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from conftest import PASSWORD, flash_text, gone, narrow, shot, sign_in, wait


def rows(driver, list_id):
    return driver.find_elements(By.CSS_SELECTOR, f"#{list_id} > li")


def api_token(driver, server, user):
    """A read/write access token of `user`, from an application registered in the console."""
    driver.get(server.url("/console/applications/new"))
    wait(driver, EC.presence_of_element_located((By.ID, "name"))).send_keys("Publisher")
    for box in driver.find_elements(By.NAME, "grant_type"):
        if box.is_selected() != (box.get_attribute("value") == "password"):
            box.click()
    for box in driver.find_elements(By.NAME, "scope"):
        if box.is_selected() != (box.get_attribute("value") in ("read", "write")):
            box.click()
    driver.find_element(By.CSS_SELECTOR, "form.card button.primary").click()
    flash_text(driver)
    shown = {}
    for block in driver.find_elements(By.CSS_SELECTOR, "#flash .secret"):
        label = block.find_element(By.TAG_NAME, "span").text
        shown[label.split()[0].rstrip(":")] = block.find_element(By.TAG_NAME, "code").text
    answer = requests.post(server.url("/oauth/v2/token"), data={
        "grant_type": "password", "username": user, "password": PASSWORD,
        "client_id": shown["client_id"], "client_secret": shown["client_secret"]}, timeout=30)
    return answer.json()["access_token"]


def dist(name, kind="harmony-theme", description="A theme"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("composer.json", '{"name": "%s", "type": "%s", "description": "%s"}'
                   % (name, kind, description))
        z.writestr("README.md", "# readme\n")
    return buf.getvalue()


def publish(server, token, name, version):
    put = requests.put(server.url(f"/packages/{name}/versions/{version}"), data=dist(name),
                       headers={"Authorization": f"Bearer {token}",
                                "Content-Type": "application/zip"}, timeout=30)
    assert put.status_code == 201, put.text


def submit(driver, form_css):
    """Clicks the submit button of the form `form_css` and waits for the next page."""
    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, f"{form_css} button[type=submit]").click()
    wait(driver, gone(old))


def test_a_project_is_created_edited_bound_unbound_and_deleted(driver, server):
    user = server.create_user("proj")
    sign_in(driver, server, user)
    token = api_token(driver, server, user)
    publish(server, token, f"{user}/theme", "1.2.0")

    driver.get(server.url("/console/projects"))
    wait(driver, EC.presence_of_element_located((By.LINK_TEXT, "Create a project"))).click()
    wait(driver, EC.presence_of_element_located((By.ID, "name"))).send_keys("Shop site")
    driver.find_element(By.ID, "description").send_keys("The shop")
    driver.find_element(By.ID, "url").send_keys("not a url")
    shot(driver, "project-new")
    narrow(driver, "project-new")
    submit(driver, "form.card")
    # Refused: the reason next to the field, what was typed kept.
    assert "must be an absolute http or https URL" in driver.find_element(
        By.CSS_SELECTOR, ".field-error").text
    assert driver.find_element(By.ID, "name").get_attribute("value") == "Shop site"
    assert driver.find_element(By.ID, "description").get_attribute("value") == "The shop"
    url = driver.find_element(By.ID, "url")
    url.clear()
    url.send_keys("https://shop.example")
    submit(driver, "form.card")
    assert "Project Shop site created." in flash_text(driver)
    here = driver.current_url
    assert "/console/projects/" in here
    # A reload after the POST is a GET of the project's page: nothing is created again.
    driver.refresh()
    wait(driver, EC.presence_of_element_located((By.ID, "bind")))
    assert not driver.find_elements(By.ID, "flash")
    assert len(requests.get(server.url("/projects"), timeout=30,
                            headers={"Authorization": f"Bearer {token}"}).json()) == 1

    # Bind: a constraint no version matches, then one that does.
    driver.find_element(By.ID, "addon").send_keys(f"{user}/theme")
    driver.find_element(By.ID, "version").send_keys("^3.0")
    submit(driver, "#bind")
    error = driver.find_element(By.CSS_SELECTOR, "#bind .field-error").text
    assert error == f"No published version of {user}/theme satisfies ^3.0.", error
    assert driver.find_element(By.ID, "addon").get_attribute("value") == f"{user}/theme"
    shot(driver, "project-bind-refused")
    narrow(driver, "project-bind-refused")
    version = driver.find_element(By.ID, "version")
    version.clear()
    version.send_keys("^1.0")
    submit(driver, "#bind")
    assert f"{user}/theme ^1.0 added to Shop site." in flash_text(driver)
    assert len(rows(driver, "addons")) == 1
    shot(driver, "project")
    narrow(driver, "project")
    driver.refresh()
    wait(driver, EC.presence_of_element_located((By.ID, "addons")))
    assert len(rows(driver, "addons")) == 1

    # Edit the settings.
    name = driver.find_element(By.ID, "name")
    name.clear()
    name.send_keys("Shop two")
    submit(driver, "form.card[action$='" + here.rsplit("/", 1)[1] + "']")
    assert "Project Shop two saved." in flash_text(driver)

    # Unbind.
    submit(driver, "#addons li form")
    assert "removed from the project" in flash_text(driver)
    assert not rows(driver, "addons")

    # Delete after confirmation.
    driver.find_element(By.PARTIAL_LINK_TEXT, "Delete this project").click()
    wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "button.danger")))
    shot(driver, "project-delete")
    narrow(driver, "project-delete")
    submit(driver, "div.card form")
    assert "Project Shop two deleted." in flash_text(driver)
    assert not rows(driver, "projects")
    shot(driver, "projects-empty")
    narrow(driver, "projects-empty")


def test_an_owner_uploads_a_zip_and_switches_visibility(driver, server):
    user = server.create_user("owner")
    sign_in(driver, server, user)
    token = api_token(driver, server, user)
    name = f"{user}/gallery"
    publish(server, token, name, "1.0.0")
    page = server.url(f"/console/marketplace/{name}")
    driver.get(page)
    wait(driver, EC.presence_of_element_located((By.ID, "publish")))
    shot(driver, "addon-owner")
    narrow(driver, "addon-owner")

    path = os.path.join(tempfile.mkdtemp(prefix="harmony-zip-"), "gallery.zip")
    with open(path, "wb") as f:
        f.write(dist(name))
    # Refused first (a version already published): the reason next to the field.
    driver.find_element(By.ID, "version").send_keys("1.0.0")
    driver.find_element(By.ID, "archive").send_keys(path)
    submit(driver, "#publish")
    assert "already published" in driver.find_element(By.CSS_SELECTOR, "#publish .field-error").text
    assert driver.find_element(By.ID, "version").get_attribute("value") == "1.0.0"
    shot(driver, "addon-publish-refused")
    narrow(driver, "addon-publish-refused")
    version = driver.find_element(By.ID, "version")
    version.clear()
    version.send_keys("1.1.0")
    driver.find_element(By.ID, "archive").send_keys(path)
    submit(driver, "#publish")
    assert f"{name} 1.1.0 published." in flash_text(driver)
    assert "1.1.0" in driver.find_element(By.ID, "versions").text
    # A reload after the POST shows the page again; it does not publish again.
    driver.refresh()
    wait(driver, EC.presence_of_element_located((By.ID, "versions")))
    assert not driver.find_elements(By.ID, "flash")
    assert len(rows(driver, "versions")) == 2

    submit(driver, "#visibility-form")
    assert "is now private" in flash_text(driver)
    assert driver.find_element(By.ID, "visibility").text == "private"
    assert requests.get(server.url(f"/packages/{name}"), timeout=30).status_code == 404
    shot(driver, "addon-private")
    narrow(driver, "addon-private")
    submit(driver, "#visibility-form")
    assert "is now public" in flash_text(driver)
    assert requests.get(server.url(f"/packages/{name}"), timeout=30).status_code == 200

    driver.find_element(By.ID, "repository_url").send_keys("https://git.example.com/gallery.git")
    driver.find_element(By.ID, "webhook_secret").send_keys("s3cret-s3cret")
    submit(driver, "#repository")
    assert "with its webhook secret" in flash_text(driver)
    driver.find_element(By.CSS_SELECTOR, "#repository summary").click()
    assert "Just the push event" in driver.find_element(By.CSS_SELECTOR, "#repository details").text
    shot(driver, "addon-repository")
    narrow(driver, "addon-repository")

    driver.get(server.url("/console/marketplace"))
    wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "#addons > li")))
    # The server is shared by the tests: this owner's row among the others'.
    row = [r for r in rows(driver, "addons") if r.text.startswith(name + " ")][0]
    assert "Latest 1.1.0" in row.text
    shot(driver, "marketplace-latest")
    narrow(driver, "marketplace-latest")
