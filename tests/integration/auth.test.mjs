// /auth/status, /auth/login, /auth/code, /auth/logout against the real binary: credentials from each source,
// login under a pseudo-terminal with a fake `claude` (and the real CLI 2.1.197 up to its authorize URL,
// never opened), logout with and without the CLI, and the API key in front of it all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startProxy, CLI_197 } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));
const { startFakeUpstream } = await import(path.join(SOURCE_DIR, 'tests/fakes/fake-upstream.mjs'));

const FAKE_CLAUDE = path.join(SOURCE_DIR, 'tests/fakes/fake-claude-login.sh');
const T = { timeout: 120_000 };
const HOUR = 3600_000;
const ACCESS = 'sk-ant-oat01-ACCESS-never-shown';
const REFRESH = 'sk-ant-ort01-REFRESH-never-shown';

// Run fn with a proxy, then insist it shut down cleanly (exit 0, no sanitizer report).
async function withProxy(options, fn) {
  const proxy = await startProxy(options);
  try {
    await fn(proxy);
  } finally {
    const r = await proxy.stop();
    assert.equal(r.code, 0, `proxy exit ${JSON.stringify(r)}\n${proxy.logs().slice(-3000)}`);
    assert.deepEqual(proxy.sanitizerReports(), []);
    proxy.cleanup();
  }
}

async function call(proxy, method, pathname, { body, key } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (key) headers['x-api-key'] = key;
  const res = await fetch(proxy.url + pathname, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, text, json };
}

function writeCredentials(proxy, oauth) {
  fs.writeFileSync(path.join(proxy.claudeConfigDir, '.credentials.json'), JSON.stringify({ claudeAiOauth: oauth }));
}

// Live processes whose environment says they belong to this proxy's CLI config dir (zombies have none).
function childrenOf(proxy, needle = 'auth login') {
  const want = `CLAUDE_CONFIG_DIR=${proxy.claudeConfigDir}`;
  const found = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (env.includes(want) && cmd.includes(needle)) found.push({ pid: Number(pid), cmd });
    } catch { /* gone meanwhile, or not ours to read */ }
  }
  return found;
}

const isAlive = (pid) => { try { process.kill(pid, 0); return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'Z'; } catch { return false; } };

test('status: nothing configured means not logged in', T, async () => {
  await withProxy({}, async (proxy) => {
    const r = await call(proxy, 'GET', '/auth/status');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { authenticated: false, expired: false, expiresAt: null, method: 'none', subscriptionType: null, loginInProgress: false });
  });
});

test('status: credentials file valid, expired, expired with a refresh token; tokens never returned', T, async () => {
  await withProxy({}, async (proxy) => {
    const future = Date.now() + HOUR, past = Date.now() - HOUR;
    writeCredentials(proxy, { accessToken: ACCESS, refreshToken: REFRESH, expiresAt: future, scopes: ['user:inference'], subscriptionType: 'max' });
    let r = await call(proxy, 'GET', '/auth/status');
    assert.equal(r.json.authenticated, true);
    assert.equal(r.json.expired, false);
    assert.equal(r.json.method, 'credentials_file');
    assert.equal(r.json.subscriptionType, 'max');
    assert.equal(r.json.expiresAt, future);
    assert.ok(!r.text.includes(ACCESS) && !r.text.includes(REFRESH));

    writeCredentials(proxy, { accessToken: ACCESS, expiresAt: past, subscriptionType: 'pro' });
    r = await call(proxy, 'GET', '/auth/status');
    assert.deepEqual(r.json, { authenticated: false, expired: true, expiresAt: past, method: 'credentials_file', subscriptionType: 'pro', loginInProgress: false });

    writeCredentials(proxy, { accessToken: ACCESS, refreshToken: REFRESH, expiresAt: past });
    r = await call(proxy, 'GET', '/auth/status');
    assert.equal(r.json.authenticated, true, 'the CLI refreshes an expired token itself');
    assert.equal(r.json.expired, true);

    fs.writeFileSync(path.join(proxy.claudeConfigDir, '.credentials.json'), '{ not json');
    r = await call(proxy, 'GET', '/auth/status');
    assert.equal(r.json.method, 'none');

    const dash = await call(proxy, 'GET', '/api/dashboard');
    assert.equal(dash.json.auth.method, 'none');
    assert.ok(!proxy.logs().includes(ACCESS) && !proxy.logs().includes(REFRESH));
  });
});

test('status: CLAUDE_CODE_OAUTH_TOKEN comes first, then ANTHROPIC_API_KEY; neither is shown or logged', T, async () => {
  const oauthEnv = 'sk-ant-oat01-ENV-TOKEN-secret', apiKeyEnv = 'sk-ant-api03-ENV-KEY-secret';
  await withProxy({ env: { CLAUDE_CODE_OAUTH_TOKEN: oauthEnv, ANTHROPIC_API_KEY: apiKeyEnv } }, async (proxy) => {
    writeCredentials(proxy, { accessToken: ACCESS, expiresAt: Date.now() + HOUR });
    const r = await call(proxy, 'GET', '/auth/status');
    assert.equal(r.json.authenticated, true);
    assert.equal(r.json.method, 'oauth_token_env');
    assert.equal(r.json.expiresAt, null);
    const dash = await call(proxy, 'GET', '/api/dashboard');
    for (const text of [r.text, dash.text, proxy.logs()]) {
      assert.ok(!text.includes(oauthEnv) && !text.includes(apiKeyEnv) && !text.includes(ACCESS));
    }
  });
  await withProxy({ env: { ANTHROPIC_API_KEY: apiKeyEnv } }, async (proxy) => {
    writeCredentials(proxy, { accessToken: ACCESS, expiresAt: Date.now() + HOUR });
    const r = await call(proxy, 'GET', '/auth/status');
    assert.equal(r.json.method, 'api_key_env');
    assert.equal(r.json.authenticated, true);
    assert.ok(!r.text.includes(apiKeyEnv));
  });
});

test('status: verify=cli cross-checks with `claude auth status`', T, async () => {
  await withProxy({ config: { claudePath: FAKE_CLAUDE } }, async (proxy) => {
    let r = await call(proxy, 'GET', '/auth/status?verify=cli');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.cli, { loggedIn: false, authMethod: 'none', apiProvider: 'firstParty' });
    writeCredentials(proxy, { accessToken: ACCESS, expiresAt: Date.now() + HOUR, subscriptionType: 'max' });
    r = await call(proxy, 'GET', '/auth/status?verify=cli');
    assert.equal(r.json.authenticated, true);
    assert.deepEqual(r.json.cli, { loggedIn: true, authMethod: 'claude.ai', apiProvider: 'firstParty', subscriptionType: 'max' });
  });
});

test('login with a fake CLI: one process, the URL, a malformed code keeps it waiting, a good code logs in', T, async () => {
  await withProxy({ config: { claudePath: FAKE_CLAUDE } }, async (proxy) => {
    // Two callers at once share one login.
    const [a, b] = await Promise.all([call(proxy, 'POST', '/auth/login'), call(proxy, 'POST', '/auth/login')]);
    assert.equal(a.status, 200, a.text);
    assert.equal(b.status, 200, b.text);
    assert.equal(a.json.url, b.json.url);
    assert.match(a.json.message, /code/);
    const url = new URL(a.json.url);
    assert.equal(url.host, 'claude.com');
    assert.equal(url.pathname, '/cai/oauth/authorize');
    assert.equal(url.searchParams.get('state'), 'fakestate');
    assert.equal(childrenOf(proxy).length, 1);

    let st = await call(proxy, 'GET', '/auth/status');
    assert.equal(st.json.loginInProgress, true);
    assert.equal(st.json.login.state, 'waiting_code');
    assert.equal(st.json.login.url, a.json.url);

    // The CLI says a code without its "#state" half is invalid and keeps waiting; so do we.
    let r = await call(proxy, 'POST', '/auth/code', { body: { code: 'nohash' } });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.success, false);
    assert.match(r.json.message, /Invalid code/);
    st = await call(proxy, 'GET', '/auth/status');
    assert.equal(st.json.login.state, 'waiting_code');

    for (const bad of [{}, { code: 42 }, { code: 'two\nlines' }, { code: '   ' }]) {
      r = await call(proxy, 'POST', '/auth/code', { body: bad });
      assert.equal(r.status, 400, JSON.stringify(bad));
    }

    r = await call(proxy, 'POST', '/auth/code', { body: { code: '  good#state123 ' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual({ success: r.json.success, message: r.json.message, exitCode: r.json.exitCode },
      { success: true, message: 'Login successful.', exitCode: 0 });
    const codes = fs.readFileSync(path.join(proxy.claudeConfigDir, 'fake-login-codes.txt'), 'utf8').split('\n');
    assert.deepEqual(codes.filter(Boolean), ['nohash', 'good#state123']);

    st = await call(proxy, 'GET', '/auth/status');
    assert.equal(st.json.authenticated, true);
    assert.equal(st.json.method, 'credentials_file');
    assert.equal(st.json.subscriptionType, 'max');
    assert.equal(st.json.loginInProgress, false);
    assert.ok(!st.text.includes('FAKEACCESS'));
    assert.ok(!proxy.logs().includes('good#state123'), 'the pasted code is never logged');
    assert.equal(proxy.logEvents('auth.credentials_changed').at(-1)?.reason, 'login');
    await proxy.until(() => childrenOf(proxy).length === 0);

    r = await call(proxy, 'POST', '/auth/code', { body: { code: 'good#again' } });
    assert.equal(r.status, 409, 'no login waits for a code any more');
  });
});

test('login: the CLI rejecting the code comes back as 400 with its words and exit status', T, async () => {
  await withProxy({ config: { claudePath: FAKE_CLAUDE } }, async (proxy) => {
    const login = await call(proxy, 'POST', '/auth/login');
    assert.equal(login.status, 200);
    const r = await call(proxy, 'POST', '/auth/code', { body: { code: 'expired#state' } });
    assert.equal(r.status, 400);
    assert.equal(r.json.success, false);
    assert.equal(r.json.exitCode, 1);
    assert.match(r.json.message, /^Login failed: /);
    assert.ok(!r.text.includes('expired#state'));
    const st = await call(proxy, 'GET', '/auth/status');
    assert.equal(st.json.authenticated, false);
    assert.equal(st.json.loginInProgress, false);
  });
});

test('login: an unfinished login is ended after LOGIN_TIMEOUT_MS, and a new one can start', T, async () => {
  await withProxy({ config: { claudePath: FAKE_CLAUDE }, env: { LOGIN_TIMEOUT_MS: '1500' } }, async (proxy) => {
    const first = await call(proxy, 'POST', '/auth/login');
    assert.equal(first.status, 200);
    const [child] = childrenOf(proxy);
    assert.ok(child, 'the login process runs');
    await proxy.until(async () => (await call(proxy, 'GET', '/auth/status')).json.loginInProgress === false);
    assert.equal(proxy.logEvents('auth.login_ended').at(-1)?.reason, 'timeout');
    await proxy.until(() => !isAlive(child.pid));
    const r = await call(proxy, 'POST', '/auth/code', { body: { code: 'good#late' } });
    assert.equal(r.status, 409);
    const second = await call(proxy, 'POST', '/auth/login');
    assert.equal(second.status, 200);
  });
});

test('login: a CLI that cannot be run is a 503 that names the path', T, async () => {
  await withProxy({ config: { claudePath: '/nonexistent/claude' } }, async (proxy) => {
    const r = await call(proxy, 'POST', '/auth/login');
    assert.equal(r.status, 503);
    assert.match(r.json.error.message, /\/nonexistent\/claude/);
  });
});

test('login: the real CLI 2.1.197 under a pseudo-terminal yields a real authorize URL (not opened)', T, async () => {
  await withProxy({ config: { claudePath: CLI_197 } }, async (proxy) => {
    const r = await call(proxy, 'POST', '/auth/login');
    assert.equal(r.status, 200, r.text);
    const url = new URL(r.json.url);
    assert.equal(url.protocol, 'https:');
    assert.ok(['claude.com', 'claude.ai'].includes(url.host), url.host);
    assert.match(url.pathname, /\/oauth\/authorize$/);
    const q = url.searchParams;
    assert.match(q.get('client_id'), /^[0-9a-f-]{36}$/);
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('code'), 'true');
    assert.match(q.get('redirect_uri'), /^https:\/\/[a-z.]*claude\.(com|ai)\/oauth\/code\/callback$/);
    assert.match(q.get('scope'), /user:inference/);
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.match(q.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
    assert.ok(q.get('state')?.length >= 16);
    assert.equal(childrenOf(proxy).length, 1);
    // The same login is reused while it waits.
    const again = await call(proxy, 'POST', '/auth/login');
    assert.equal(again.json.url, r.json.url);
  });
});

test('logout: `claude auth logout`, the credentials file gone, live sessions recycled', T, async () => {
  const up = await startFakeUpstream();
  try {
    await withProxy({ config: { claudePath: FAKE_CLAUDE }, env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test' } }, async (proxy) => {
      const msg = await call(proxy, 'POST', '/v1/messages', { body: { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: '[[say:hi]]' }] } });
      assert.equal(msg.status, 200, msg.text);
      let dash = await call(proxy, 'GET', '/api/dashboard');
      assert.equal(dash.json.sessions.length, 1);
      writeCredentials(proxy, { accessToken: ACCESS, refreshToken: REFRESH, expiresAt: Date.now() + HOUR });

      const r = await call(proxy, 'POST', '/auth/logout');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.success, true);
      assert.equal(r.json.message, 'Logged out successfully');
      assert.equal(r.json.stillAuthenticatedBy, 'api_key_env', 'an environment key outlives a logout');
      assert.ok(!fs.existsSync(path.join(proxy.claudeConfigDir, '.credentials.json')));
      assert.equal(fs.readFileSync(path.join(proxy.claudeConfigDir, 'fake-logout-calls.txt'), 'utf8'), 'logout\n');
      await proxy.until(async () => (await call(proxy, 'GET', '/api/dashboard')).json.sessions.length === 0);
      dash = await call(proxy, 'GET', '/api/dashboard');
      assert.equal(dash.json.pool.live, 0);
    });
  } finally {
    await up.close();
  }
});

test('logout: without a runnable CLI the credentials file is removed anyway', T, async () => {
  await withProxy({ config: { claudePath: '/nonexistent/claude' } }, async (proxy) => {
    writeCredentials(proxy, { accessToken: ACCESS, expiresAt: Date.now() + HOUR });
    assert.equal((await call(proxy, 'GET', '/auth/status')).json.authenticated, true);
    const [r1, r2] = await Promise.all([call(proxy, 'POST', '/auth/logout'), call(proxy, 'POST', '/auth/logout')]);
    for (const r of [r1, r2]) assert.deepEqual(r.json, { success: true, message: 'Logged out successfully' });
    assert.ok(!fs.existsSync(path.join(proxy.claudeConfigDir, '.credentials.json')));
    assert.equal((await call(proxy, 'GET', '/auth/status')).json.authenticated, false);
  });
});

test('with an API key configured, /auth/* and the dashboard data need it; /health and the page do not', T, async () => {
  const key = 'proxy-key-123';
  await withProxy({ config: { claudePath: FAKE_CLAUDE, apiKey: key, requireApiKey: true } }, async (proxy) => {
    const guarded = [['GET', '/auth/status'], ['POST', '/auth/login'], ['POST', '/auth/code', { code: 'x#y' }],
      ['POST', '/auth/logout'], ['GET', '/api/dashboard'], ['GET', '/metrics']];
    for (const [method, p, body] of guarded) {
      const r = await call(proxy, method, p, { body });
      assert.equal(r.status, 401, `${method} ${p}`);
      const wrong = await call(proxy, method, p, { body, key: 'nope' });
      assert.equal(wrong.status, 401, `${method} ${p} with a wrong key`);
    }
    assert.equal(childrenOf(proxy).length, 0, 'no login started without the key');
    assert.equal((await call(proxy, 'GET', '/health')).status, 200);
    assert.equal((await call(proxy, 'GET', '/')).status, 200);
    const ok = await call(proxy, 'GET', '/auth/status', { key });
    assert.equal(ok.status, 200);
    const bearer = await fetch(proxy.url + '/auth/status', { headers: { authorization: `Bearer ${key}` } });
    assert.equal(bearer.status, 200);
    await bearer.arrayBuffer();
    const login = await call(proxy, 'POST', '/auth/login', { key });
    assert.equal(login.status, 200);
  });
});
