// DPoP (RFC 9449) with `oauth4webapi`, whose DPoP support is certified, against a real
// `harmony serve` on a fresh SQLite file: the code flow with PKCE bound to an ES256 key the
// client generates, a protected resource request with a proof, the key-bound refresh of a
// public client, the bound token refused as Bearer, and — on a server that requires
// nonces — oauth4webapi's `use_dpop_nonce` retry at the token endpoint and at a resource.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import * as oauth from 'oauth4webapi';

import { REDIRECT, registerApp, signInAndApprove, startHarmony } from './harmony.mjs';

// Plain http is allowed: loopback test servers.
const insecure = { [oauth.allowInsecureRequests]: true };

let plain;
let nonces;

before(async () => {
  [plain, nonces] = await Promise.all([startHarmony(), startHarmony({ HARMONY_DPOP_NONCE: 'true' })]);
});

after(() => {
  plain?.stop();
  nonces?.stop();
});

/** The server's metadata as oauth4webapi reads it (RFC 8414). */
async function discover(harmony) {
  const issuer = new URL(harmony.base);
  const r = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure });
  return oauth.processDiscoveryResponse(issuer, r);
}

/** A public client (PKCE, no secret) registered on `harmony`. */
async function publicClient(harmony) {
  const app = await registerApp(harmony, { name: 'oauth4webapi app', confidential: false });
  return { client: { client_id: app.id }, auth: oauth.None() };
}

/** Authorization with PKCE and a state, played to the callback; answers what the token
 * request needs. */
async function authorize(harmony, as, client) {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope: 'read',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  const callback = await signInAndApprove(harmony, url);
  return { params: oauth.validateAuthResponse(as, client, callback, state), verifier };
}

/** `GET /user` through oauth4webapi with `token` (and a proof when `DPoP` is given). */
function getUser(harmony, token, DPoP) {
  return oauth.protectedResourceRequest(token, 'GET', new URL(`${harmony.base}/user`), undefined, undefined, {
    ...insecure,
    ...(DPoP ? { DPoP } : {}),
  });
}

test('a DPoP-bound code flow, resource access with proofs and a key-bound refresh with oauth4webapi', async () => {
  const as = await discover(plain);
  assert.deepEqual(as.dpop_signing_alg_values_supported, ['ES256', 'EdDSA', 'RS256']);
  const { client, auth } = await publicClient(plain);
  const key = await oauth.generateKeyPair('ES256');
  const dpop = oauth.DPoP(client, key);

  const { params, verifier } = await authorize(plain, as, client);
  const tokenResponse = await oauth.authorizationCodeGrantRequest(as, client, auth, params, REDIRECT, verifier, {
    DPoP: dpop,
    ...insecure,
  });
  const raw = await tokenResponse.clone().json();
  assert.equal(raw.token_type, 'DPoP');
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, tokenResponse);
  assert.equal(tokens.token_type, 'dpop');
  assert.equal(tokens.scope, 'read');
  assert.ok(tokens.refresh_token);

  // The resource request carries a proof with `ath`, made with the bound key.
  const me = await getUser(plain, tokens.access_token, dpop);
  assert.equal(me.status, 200);
  assert.equal((await me.json()).username, plain.admin.username);

  // The same token as Bearer is refused: oauth4webapi sees the 401's DPoP challenge.
  await assert.rejects(getUser(plain, tokens.access_token), (e) => {
    assert.ok(e instanceof oauth.WWWAuthenticateChallengeError, String(e));
    assert.equal(e.status, 401);
    const challenge = e.cause.find((c) => c.scheme === 'dpop');
    assert.equal(challenge?.parameters.error, 'invalid_token');
    return true;
  });
  const asBearer = await fetch(`${plain.base}/user`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(asBearer.status, 401);
  assert.match(asBearer.headers.get('www-authenticate'), /^DPoP /);

  // A public client's refresh token is bound to the key: a proof made with another key is
  // refused, and the refresh token is not used up by the attempt.
  const thief = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
  const stolen = await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, { DPoP: thief, ...insecure });
  await assert.rejects(oauth.processRefreshTokenResponse(as, client, stolen), (e) => {
    assert.ok(e instanceof oauth.ResponseBodyError, String(e));
    assert.equal(e.error, 'invalid_grant');
    return true;
  });

  // The refresh with the key's proof: a new DPoP-bound pair.
  const refreshResponse = await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, {
    DPoP: dpop,
    ...insecure,
  });
  const refreshed = await oauth.processRefreshTokenResponse(as, client, refreshResponse);
  assert.equal(refreshed.token_type, 'dpop');
  assert.notEqual(refreshed.access_token, tokens.access_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  const again = await getUser(plain, refreshed.access_token, dpop);
  assert.equal(again.status, 200);
  assert.equal((await again.json()).username, plain.admin.username);
  // The new token is bound to the same key: without a proof it is refused too.
  await assert.rejects(getUser(plain, refreshed.access_token), { status: 401 });
});

test('oauth4webapi retries with the server nonce (use_dpop_nonce) at the token endpoint and at a resource', async () => {
  const as = await discover(nonces);
  const { client, auth } = await publicClient(nonces);
  const key = await oauth.generateKeyPair('ES256');
  const dpop = oauth.DPoP(client, key);
  const { params, verifier } = await authorize(nonces, as, client);

  // As oauth4webapi's documentation says: a `use_dpop_nonce` error is retried once; the
  // handle has kept the nonce from the error's `DPoP-Nonce` header.
  const exchange = () =>
    oauth.authorizationCodeGrantRequest(as, client, auth, params, REDIRECT, verifier, { DPoP: dpop, ...insecure });
  let first = true;
  let tokens;
  try {
    tokens = await oauth.processAuthorizationCodeResponse(as, client, await exchange());
    first = false;
  } catch (e) {
    if (!oauth.isDPoPNonceError(e)) throw e;
    tokens = await oauth.processAuthorizationCodeResponse(as, client, await exchange());
  }
  assert.ok(first, 'the first proof, without a nonce, is answered use_dpop_nonce');
  assert.equal(tokens.token_type, 'dpop');

  // The token answer carried the next nonce: the handle's first resource request passes.
  const me = await getUser(nonces, tokens.access_token, dpop);
  assert.equal(me.status, 200);

  // A handle for the same key that knows no nonce yet: a 401 use_dpop_nonce challenge,
  // then the retry with the nonce from its `DPoP-Nonce` header.
  const fresh = oauth.DPoP(client, key);
  let challenged = false;
  let retried;
  try {
    retried = await getUser(nonces, tokens.access_token, fresh);
  } catch (e) {
    if (!oauth.isDPoPNonceError(e)) throw e;
    assert.equal(e.status, 401);
    challenged = true;
    retried = await getUser(nonces, tokens.access_token, fresh);
  }
  assert.ok(challenged, 'a proof without a nonce is challenged with use_dpop_nonce');
  assert.equal(retried.status, 200);
  assert.equal((await retried.json()).username, nonces.admin.username);

  // The refresh with the handle's nonce.
  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, { DPoP: fresh, ...insecure }),
  );
  assert.equal(refreshed.token_type, 'dpop');
});
