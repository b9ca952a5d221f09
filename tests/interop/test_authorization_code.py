"""The authorization code flow with PKCE S256, the way a third-party application runs it:
authlib builds the authorization URL and exchanges the code; `requests` plays the person in
the browser (sign-in and consent forms, cookies, CSRF token). Then authlib revokes and
introspects, and RFC 8414 metadata is read back."""

import html
import os
import re
from urllib.parse import parse_qs, urljoin, urlparse

import requests
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from authlib.common.security import generate_token

# authlib refuses plain http unless told this is a test on loopback.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

REDIRECT = "http://127.0.0.1:9/callback"


def password_token(server):
    r = requests.post(server["base"] + "/oauth/v2/token", data={
        "grant_type": "password", "username": server["username"], "password": server["password"],
    }, auth=(server["client_id"], server["client_secret"]))
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def register_app(server, confidential=True):
    r = requests.post(server["base"] + "/user/clients", json={
        "name": "authlib app", "redirectUris": [REDIRECT], "confidential": confidential,
        "grantTypes": ["authorization_code", "refresh_token"], "scopes": ["read", "write"],
    }, headers={"Authorization": "Bearer " + password_token(server)})
    assert r.status_code == 201, r.text
    return r.json()


def form(page, base):
    """The form's action (a path, resolved against the page's URL as a browser does) and
    its CSRF token."""
    action = html.unescape(re.search(r'action="([^"]+)"', page).group(1))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return urljoin(base, action), csrf


def browser_consents(server, url):
    """Signs in and approves like a person; returns the redirect's Location."""
    browser = requests.Session()
    page = browser.get(url, allow_redirects=False)
    assert page.status_code == 200 and "Sign in" in page.text
    action, csrf = form(page.text, page.url)
    consent = browser.post(action, data={
        "csrf_token": csrf, "action": "login",
        "username": server["username"], "password": server["password"],
    }, allow_redirects=False)
    assert consent.status_code == 200, consent.text
    action, csrf = form(consent.text, consent.url)
    done = browser.post(action, data={"csrf_token": csrf, "action": "approve"}, allow_redirects=False)
    assert done.status_code == 303, done.text
    return done.headers["Location"]


def test_authlib_completes_the_code_flow_with_pkce_then_revokes_and_introspects(server):
    meta = requests.get(server["base"] + "/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == server["base"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    app = register_app(server)

    session = AuthlibSession(app["id"], app["secret"], scope="read", redirect_uri=REDIRECT,
                             code_challenge_method="S256")
    verifier = generate_token(64)
    url, state = session.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier)
    assert "code_challenge=" in url and "code_challenge_method=S256" in url

    location = browser_consents(server, url)
    assert parse_qs(urlparse(location).query)["state"] == [state]
    token = session.fetch_token(meta["token_endpoint"], authorization_response=location,
                                code_verifier=verifier, state=state)
    assert token["token_type"].lower() == "bearer" and token["scope"] == "read"
    assert session.get(server["base"] + "/user").json()["username"] == "admin"

    # Introspection with authlib's client authentication (client_secret_basic).
    info = session.introspect_token(meta["introspection_endpoint"], token=token["access_token"]).json()
    assert info["active"] is True and info["client_id"] == app["id"] and info["username"] == "admin"

    # Revoking the refresh token revokes the access token issued with it.
    r = session.revoke_token(meta["revocation_endpoint"], token=token["refresh_token"],
                             token_type_hint="refresh_token")
    assert r.status_code == 200
    info = session.introspect_token(meta["introspection_endpoint"], token=token["access_token"]).json()
    assert info == {"active": False}
    assert requests.get(server["base"] + "/user",
                        headers={"Authorization": "Bearer " + token["access_token"]}).status_code == 401


def test_a_public_client_uses_the_code_flow_and_a_replayed_code_is_refused(server):
    meta = requests.get(server["base"] + "/.well-known/oauth-authorization-server").json()
    app = register_app(server, confidential=False)
    assert "secret" not in app
    session = AuthlibSession(app["id"], redirect_uri=REDIRECT, code_challenge_method="S256",
                             token_endpoint_auth_method="none")
    verifier = generate_token(64)
    url, state = session.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier)
    location = browser_consents(server, url)
    token = session.fetch_token(meta["token_endpoint"], authorization_response=location,
                                code_verifier=verifier, state=state)
    assert session.get(server["base"] + "/user").status_code == 200

    code = parse_qs(urlparse(location).query)["code"][0]
    replay = requests.post(meta["token_endpoint"], data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier, "client_id": app["id"],
    })
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # The replay revoked what the code had issued.
    assert requests.get(server["base"] + "/user",
                        headers={"Authorization": "Bearer " + token["access_token"]}).status_code == 401
