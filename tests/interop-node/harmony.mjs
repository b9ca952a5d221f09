// What the interop tests share: a real `harmony serve` on a fresh SQLite file, the
// administrator's password-grant token, client registration through the API, and the
// person's part of the code flow (sign-in and consent forms, the session cookie, the CSRF
// token) played with plain HTTP requests.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const BIN = process.env.HARMONY_BIN ?? new URL('../../target/debug/harmony', import.meta.url).pathname;
export const REDIRECT = 'http://127.0.0.1:9/callback';

/** Starts `harmony serve` with `env` added; answers `{ base, admin, stop }` once healthy. */
export async function startHarmony(env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'harmony-interop-'));
  const server = spawn(BIN, ['serve', '--bind', '127.0.0.1:0', '--json'], {
    env: { ...process.env, HARMONY_LOG: 'warn', HARMONY_DATABASE_URL: `sqlite://${dir}/h.db`, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  server.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  // The first line is the first start's credentials, printed once the listener is bound.
  const lines = createInterface({ input: server.stdout });
  const first = await new Promise((resolve, reject) => {
    lines.once('line', resolve);
    server.once('exit', (code) => reject(new Error(`harmony serve exited (${code}) before its banner`)));
  });
  const admin = JSON.parse(first);
  const curl = new URL(admin.curl.replace(/^curl '/, '').replace(/'$/, ''));
  const base = curl.origin;
  // Ready when /health answers (polled, bounded).
  for (let i = 0; ; i++) {
    const ok = await fetch(`${base}/health`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 200) throw new Error('harmony never became healthy');
    await new Promise((r) => setImmediate(r));
  }
  return { base, admin, stop: () => server.kill() };
}

/** A password-grant token of the administrator (to register applications). */
export async function adminToken({ base, admin }) {
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

/** Registers a code-flow client through the API (confidential unless `extra` says not). */
export async function registerApp(harmony, extra = {}) {
  const r = await fetch(`${harmony.base}/user/clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await adminToken(harmony)}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'interop app',
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

/** Signs in as the administrator and approves like a person; answers the redirect's URL. */
export async function signInAndApprove({ admin }, url) {
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
