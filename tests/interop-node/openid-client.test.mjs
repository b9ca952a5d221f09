// The certified OpenID Connect client `openid-client` (v6) against a real `harmony serve` on
// a fresh SQLite file: discovery, the code flow with PKCE and a nonce, ID token validation
// (ES256 and, for a client registered for it, RS256), userinfo, and a refresh that answers
// a fresh ID token, and pushed authorization requests (RFC 9126) for a client that requires
// them. The person's part is played by `harmony.mjs`.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import * as oidc from 'openid-client';

import { REDIRECT, registerApp as register, signInAndApprove as approve, startHarmony } from './harmony.mjs';

let harmony;
let base;
let admin;

before(async () => {
  harmony = await startHarmony();
  ({ base, admin } = harmony);
});

after(() => harmony?.stop());

const registerApp = (extra) => register(harmony, extra);
const signInAndApprove = (url) => approve(harmony, url);

/** Discovery for a registered app (plain http is allowed: a loopback test server). */
async function discover(app, metadata = {}) {
  return oidc.discovery(new URL(base), app.id, { client_secret: app.secret, ...metadata }, undefined, {
    execute: [oidc.allowInsecureRequests],
  });
}

/** The code flow with PKCE, a nonce and a state; answers the token response. */
async function codeFlow(config, scope) {
  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
  });
  const callback = await signInAndApprove(url);
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    expectedState: state,
    idTokenExpected: true,
  });
  return { tokens, nonce };
}

test('discovery, code flow with PKCE and nonce, userinfo and refresh with openid-client', async () => {
  const app = await registerApp();
  const config = await discover(app);
  const meta = config.serverMetadata();
  assert.equal(meta.issuer, base);
  assert.equal(meta.userinfo_endpoint, `${base}/userinfo`);
  assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);

  const { tokens, nonce } = await codeFlow(config, 'openid profile email');
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(tokens.scope, 'openid profile email');
  // openid-client validated the ID token (signature against the JWKS, iss, aud, exp,
  // nonce, at_hash); its claims:
  const claims = tokens.claims();
  assert.equal(claims.iss, base);
  assert.equal(claims.aud, app.id);
  assert.equal(claims.nonce, nonce);
  assert.equal(claims.preferred_username, admin.username);
  assert.equal(typeof claims.auth_time, 'number');

  const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(userinfo.sub, claims.sub);
  assert.equal(userinfo.preferred_username, admin.username);
  assert.equal(userinfo.email_verified, false);
  assert.ok(userinfo.email);

  // A userinfo answer for someone else is refused by the client (sub mismatch).
  await assert.rejects(oidc.fetchUserInfo(config, tokens.access_token, 'someone-else'), {
    code: 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED',
  });

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  assert.notEqual(refreshed.access_token, tokens.access_token);
  assert.equal(refreshed.scope, 'openid profile email');
  const again = refreshed.claims();
  assert.ok(again, 'a fresh ID token on refresh');
  assert.equal(again.sub, claims.sub);
  assert.ok(again.iat >= claims.iat);
  const info = await oidc.fetchUserInfo(config, refreshed.access_token, claims.sub);
  assert.equal(info.sub, claims.sub);
});

test('a client registered for RS256 gets ID tokens openid-client validates as RS256', async () => {
  const app = await registerApp({ idTokenSignedResponseAlg: 'RS256' });
  assert.equal(app.idTokenSignedResponseAlg, 'RS256');
  const config = await discover(app, { id_token_signed_response_alg: 'RS256' });
  const { tokens } = await codeFlow(config, 'openid');
  const header = JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url'));
  assert.equal(header.alg, 'RS256');
  assert.equal(tokens.claims().aud, app.id);

  // The same client expecting ES256 refuses what it gets: the algorithm is checked.
  const strict = await discover(app, { id_token_signed_response_alg: 'ES256' });
  await assert.rejects(codeFlow(strict, 'openid profile'), (e) => /"alg"/.test(e.cause?.message ?? ''));
});

test('a client that requires pushed authorization requests signs in through PAR with openid-client', async () => {
  const app = await registerApp({ requirePushedAuthorizationRequests: true });
  assert.equal(app.requirePushedAuthorizationRequests, true);
  const config = await discover(app);
  assert.equal(config.serverMetadata().pushed_authorization_request_endpoint, `${base}/oauth/v2/par`);

  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const state = oidc.randomState();
  const params = {
    redirect_uri: REDIRECT,
    scope: 'openid profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
  };
  // Not pushed: this client's requests are refused at the authorization endpoint.
  const direct = await fetch(oidc.buildAuthorizationUrl(config, params), { redirect: 'manual' });
  assert.equal(direct.status, 400);

  // Pushed: the browser carries only client_id and the request_uri.
  const url = await oidc.buildAuthorizationUrlWithPAR(config, params);
  assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request_uri']);
  assert.match(url.searchParams.get('request_uri'), /^urn:ietf:params:oauth:request_uri:/);
  const callback = await signInAndApprove(url);
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    expectedState: state,
    idTokenExpected: true,
  });
  assert.equal(tokens.claims().nonce, nonce);
  assert.equal(tokens.scope, 'openid profile');

  // The request_uri was used up by that sign-in.
  const again = await fetch(url, { redirect: 'manual' });
  assert.equal(again.status, 400);
});
