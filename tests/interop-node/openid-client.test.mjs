// The certified OpenID Connect client `openid-client` (v6) against a real `harmony serve` on
// a fresh SQLite file: discovery, the code flow with PKCE and a nonce, ID token validation
// (ES256 and, for a client registered for it, RS256), userinfo, and a refresh that answers
// a fresh ID token. The person's part (sign-in and consent forms, the session cookie, the
// CSRF token) is played with plain HTTP requests.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';

import * as oidc from 'openid-client';

const BIN = process.env.HARMONY_BIN ?? new URL('../../target/debug/harmony', import.meta.url).pathname;
const REDIRECT = 'http://127.0.0.1:9/callback';

let server;
let base;
let admin;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'harmony-oidc-'));
  server = spawn(BIN, ['serve', '--bind', '127.0.0.1:0', '--json'], {
    env: { ...process.env, HARMONY_LOG: 'warn', HARMONY_DATABASE_URL: `sqlite://${dir}/h.db` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  server.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  // The first line is the first start's credentials, printed once the listener is bound.
  const lines = createInterface({ input: server.stdout });
  const first = await new Promise((resolve, reject) => {
    lines.once('line', resolve);
    server.once('exit', (code) => reject(new Error(`harmony serve exited (${code}) before its banner`)));
  });
  admin = JSON.parse(first);
  const curl = new URL(admin.curl.replace(/^curl '/, '').replace(/'$/, ''));
  base = curl.origin;
  // Ready when /health answers (polled, bounded).
  for (let i = 0; ; i++) {
    const ok = await fetch(`${base}/health`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 200) throw new Error('harmony never became healthy');
    await new Promise((r) => setImmediate(r));
  }
});

after(() => server?.kill());

/** A password-grant token of the administrator (to register applications). */
async function adminToken() {
  const r = await fetch(`${base}/oauth/v2/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'password',
      username: admin.username,
      password: admin.password,
      client_id: admin.client_id,
      client_secret: admin.client_secret,
    }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()).access_token;
}

/** Registers a confidential code-flow client through the API. */
async function registerApp(extra = {}) {
  const r = await fetch(`${base}/user/clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await adminToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'openid-client app',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
      ...extra,
    }),
  });
  assert.equal(r.status, 201, await r.clone().text());
  return r.json();
}

/** A browser without JavaScript: follows no redirect, keeps cookies (by name and path,
 * sent where the path matches, longest path first; `Max-Age=0` deletes). */
class Browser {
  cookies = new Map();

  async request(url, init = {}) {
    const headers = new Headers(init.headers);
    const path = new URL(url).pathname;
    const sent = [...this.cookies.values()]
      .filter((c) => path.startsWith(c.path))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`);
    if (sent.length) headers.set('cookie', sent.join('; '));
    const r = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of r.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const cookie = { name: pair.slice(0, eq), value: pair.slice(eq + 1), path: '/' };
      let expired = false;
      for (const a of attributes) {
        const [k, v = ''] = a.split('=');
        if (k.toLowerCase() === 'path') cookie.path = v;
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
      }
      const key = `${cookie.name};${cookie.path}`;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, cookie);
    }
    return r;
  }

  /** Posts the page's form (its action resolved against `pageUrl`, its CSRF token). */
  async submit(pageUrl, page, fields) {
    const action = decodeHtml(page.match(/action="([^"]+)"/)[1]);
    const csrf = page.match(/name="csrf_token" value="([^"]+)"/)[1];
    return this.request(new URL(action, pageUrl), {
      method: 'POST',
      body: new URLSearchParams({ csrf_token: csrf, ...fields }),
    });
  }
}

function decodeHtml(s) {
  return s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

/** Signs in and approves like a person; answers the redirect's URL. */
async function signInAndApprove(url) {
  const browser = new Browser();
  const signIn = await browser.request(url);
  const signInPage = await signIn.text();
  assert.equal(signIn.status, 200, signInPage);
  const consent = await browser.submit(url, signInPage, {
    action: 'login',
    username: admin.username,
    password: admin.password,
  });
  const consentPage = await consent.text();
  assert.equal(consent.status, 200, consentPage);
  const done = await browser.submit(url, consentPage, { action: 'approve' });
  assert.equal(done.status, 303, await done.text());
  return new URL(done.headers.get('location'));
}

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
