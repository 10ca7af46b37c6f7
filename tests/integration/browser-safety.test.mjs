// A web page in the browser on the same machine must not be able to use the proxy: foreign Origins and
// Hosts (DNS rebinding) are refused with 403 before anything runs, state-changing /auth endpoints are
// POST-only, and no CORS headers are sent unless allowedOrigins lists the origin. SDK-style clients
// (no Origin, Host = the address they dial) and the same-origin dashboard keep working.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startProxy, stopChecked } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));

const T = { timeout: 60_000 };
const countBody = JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] });

// node:http lets us send any Origin/Host, as a browser (or a rebinding page) would.
function request(port, { method = 'GET', path: p = '/', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers, agent: false }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(data); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, text: data, json });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

describe('browser safety by default', () => {
  let proxy;
  let own;
  before(async () => {
    proxy = await startProxy({ config: { claudePath: '/nonexistent/claude' } });
    own = `127.0.0.1:${proxy.port}`;
  });
  after(async () => stopChecked(proxy));

  test('a_cross_site_text_plain_post_is_refused_in_the_dialect', T, async () => {
    const r = await request(proxy.port, { method: 'POST', path: '/v1/messages', body: countBody,
      headers: { origin: 'https://evil.example', 'content-type': 'text/plain' } });
    assert.equal(r.status, 403);
    assert.equal(r.json.type, 'error');
    assert.equal(r.json.error.type, 'permission_error');
    assert.match(r.json.error.message, /allowedOrigins/);
    assert.equal(r.headers['access-control-allow-origin'], undefined);
    const o = await request(proxy.port, { method: 'POST', path: '/v1/chat/completions', body: countBody,
      headers: { origin: 'http://localhost:5173', 'content-type': 'text/plain' } });
    assert.equal(o.status, 403);
    assert.equal(o.json.error.code, 'permission_denied');
    assert.equal(o.json.type, undefined, 'OpenAI shape');
  });

  test('a_form_post_to_auth_logout_from_another_origin_is_refused', T, async () => {
    const r = await request(proxy.port, { method: 'POST', path: '/auth/logout', body: 'x=1',
      headers: { origin: 'null', 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 403);
    assert.equal(proxy.logEvents('auth.credentials_changed').length, 0);
  });

  test('state_changing_auth_endpoints_are_post_only', T, async () => {
    const r = await request(proxy.port, { path: '/auth/login' });
    assert.equal(r.status, 405);
    assert.match(r.headers.allow, /POST/);
    assert.ok(!/GET/.test(r.headers.allow));
  });

  test('a_foreign_host_is_refused_except_on_health', T, async () => {
    for (const p of ['/v1/models', '/', '/api/dashboard', '/auth/status']) {
      const r = await request(proxy.port, { path: p, headers: { host: `rebind.evil.example:${proxy.port}` } });
      assert.equal(r.status, 403, p);
      assert.match(r.text, /allowedHosts/);
    }
    const h = await request(proxy.port, { path: '/health', headers: { host: 'rebind.evil.example', origin: 'https://evil.example' } });
    assert.equal(h.status, 200);
  });

  test('clients_without_origin_and_the_same_origin_dashboard_keep_working', T, async () => {
    for (const host of [own, `localhost:${proxy.port}`, `[::1]:${proxy.port}`, '127.0.0.1']) {
      const r = await request(proxy.port, { method: 'POST', path: '/v1/messages/count_tokens', body: countBody,
        headers: { host, 'content-type': 'application/json' } });
      assert.equal(r.status, 200, `${host}: ${r.text}`);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
    }
    // The dashboard's own fetches: same origin (a browser sends Origin on POST).
    const page = await request(proxy.port, { path: '/', headers: { host: own } });
    assert.equal(page.status, 200);
    const data = await request(proxy.port, { path: '/api/dashboard', headers: { host: own } });
    assert.equal(data.status, 200);
    const post = await request(proxy.port, { method: 'POST', path: '/v1/messages/count_tokens', body: countBody,
      headers: { host: own, origin: `http://${own}`, 'content-type': 'application/json' } });
    assert.equal(post.status, 200, post.text);
    assert.equal(post.headers['access-control-allow-origin'], undefined, 'same origin needs no CORS');
  });

  test('a_preflight_from_a_foreign_origin_is_refused', T, async () => {
    const r = await request(proxy.port, { method: 'OPTIONS', path: '/v1/messages',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(r.status, 403);
    assert.equal(r.headers['access-control-allow-origin'], undefined);
  });
});

describe('browser safety: configured origins and hosts', () => {
  let proxy;
  before(async () => {
    proxy = await startProxy({ config: { claudePath: '/nonexistent/claude', allowedOrigins: ['https://app.example'] },
      env: { ALLOWED_HOSTS: 'proxy.lan, other.lan:8080' } });
  });
  after(async () => stopChecked(proxy));

  test('a_listed_origin_gets_cors_and_a_preflight', T, async () => {
    const pre = await request(proxy.port, { method: 'OPTIONS', path: '/v1/messages',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, x-api-key, anthropic-version' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://app.example');
    assert.match(pre.headers['access-control-allow-methods'], /POST/);
    assert.equal(pre.headers['access-control-allow-headers'], 'content-type, x-api-key, anthropic-version');
    const r = await request(proxy.port, { method: 'POST', path: '/v1/messages/count_tokens', body: countBody,
      headers: { origin: 'https://app.example', 'content-type': 'application/json' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(r.headers.vary, 'Origin');
    const other = await request(proxy.port, { method: 'POST', path: '/v1/messages/count_tokens', body: countBody,
      headers: { origin: 'https://app.example.evil', 'content-type': 'application/json' } });
    assert.equal(other.status, 403);
  });

  test('listed_hosts_are_served_others_are_not', T, async () => {
    assert.equal((await request(proxy.port, { path: '/v1/models', headers: { host: `proxy.lan:${proxy.port}` } })).status, 200);
    assert.equal((await request(proxy.port, { path: '/v1/models', headers: { host: 'other.lan:8080' } })).status, 200);
    assert.equal((await request(proxy.port, { path: '/v1/models', headers: { host: 'other.lan:9090' } })).status, 403);
    assert.equal((await request(proxy.port, { path: '/v1/models', headers: { host: 'evil.lan' } })).status, 403);
  });
});
