"""Third-party OAuth2 client libraries against a real server: the documented GET request
with plain `requests`, then the password grant, a refresh and authenticated calls with
requests-oauthlib and with authlib."""

import os

import requests
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from oauthlib.oauth2 import LegacyApplicationClient
from requests_oauthlib import OAuth2Session

# oauthlib refuses plain http unless told this is a test on loopback.
os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


def test_the_documented_get_request_and_token_header(server):
    r = requests.get(server["base"] + "/oauth/v2/token", params={
        "client_id": server["client_id"], "client_secret": server["client_secret"],
        "grant_type": "password", "username": server["username"], "password": server["password"],
    })
    assert r.status_code == 200
    assert list(r.json().keys()) == ["access_token", "expires_in", "token_type", "scope", "refresh_token"]
    me = requests.get(server["base"] + "/user", headers={"Authorization": "token " + r.json()["access_token"]})
    assert me.json()["username"] == "admin"


def test_requests_oauthlib_password_grant_refresh_and_call(server):
    token_url = server["base"] + "/oauth/v2/token"
    session = OAuth2Session(client=LegacyApplicationClient(client_id=server["client_id"]))
    token = session.fetch_token(
        token_url=token_url, username=server["username"], password=server["password"],
        client_id=server["client_id"], client_secret=server["client_secret"],
    )
    assert token["token_type"].lower() == "bearer" and token["expires_in"] == 3600
    assert session.get(server["base"] + "/user").json()["username"] == "admin"

    old_refresh = token["refresh_token"]
    new = session.refresh_token(token_url, client_id=server["client_id"], client_secret=server["client_secret"])
    assert new["refresh_token"] != old_refresh
    assert session.get(server["base"] + "/user").status_code == 200


def test_authlib_password_grant_refresh_and_call(server):
    token_url = server["base"] + "/oauth/v2/token"
    session = AuthlibSession(server["client_id"], server["client_secret"])  # client_secret_basic
    token = session.fetch_token(token_url, username=server["username"], password=server["password"])
    assert session.get(server["base"] + "/users").json()["username"] == "admin"

    new = session.refresh_token(token_url, refresh_token=token["refresh_token"])
    assert new["access_token"] != token["access_token"]
    assert session.get(server["base"] + "/user").status_code == 200
    # The rotated-out refresh token is refused, as RFC 9700 asks.
    replay = requests.post(token_url, data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
                           auth=(server["client_id"], server["client_secret"]))
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_authlib_client_credentials(server):
    session = AuthlibSession(server["client_id"], server["client_secret"])
    token = session.fetch_token(server["base"] + "/oauth/v2/token", grant_type="client_credentials")
    assert "refresh_token" not in token
    status = requests.get(server["base"] + "/token/status", params={"token": token["access_token"]}).json()
    assert status["status"] == "anon."
