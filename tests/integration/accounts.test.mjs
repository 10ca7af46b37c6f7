// cli-matrix (stdio): ctest runs this file once per pinned CLI version that speaks stdio (2.1.197, 2.1.332).
// Several Claude accounts behind one proxy (config `accounts`): three API-key accounts against the fake
// upstream, which tells them apart by the key it receives and rate-limits one on command, with the real
// CLI. Spread, stickiness, failover the client never sees, limited state, recovery, all-limited 429,
// priority order, and start-up errors naming the account.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { startFakeUpstream } from '../fakes/fake-upstream.mjs';
import { STDIO_TEST_CLI, startProxy } from './lib/proxy.mjs';

const skip = !fs.existsSync(STDIO_TEST_CLI) && 'the pinned CLI is not installed';
const MODEL = 'claude-sonnet-4-5';
const KEYS = { a: 'sk-test-account-a', b: 'sk-test-account-b', c: 'sk-test-account-c' };
const NAME_OF = Object.fromEntries(Object.entries(KEYS).map(([n, k]) => [k, n]));

async function post(proxy, pathname, body, headers = {}) {
  const res = await fetch(proxy.url + pathname, {
    method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* SSE */ }
  return { status: res.status, headers: res.headers, text, json };
}

const message = (messages, extra = {}) => ({ model: MODEL, max_tokens: 256, system: 'Accounts test.', messages, ...extra });
const textOf = (r) => r.json.content.filter((b) => b.type === 'text').map((b) => b.text).join('');

describe('three API-key accounts', { skip }, () => {
  let up;
  let proxy;
  const health = async () => (await fetch(`${proxy.url}/health`)).json();
  const account = async (name) => (await health()).accounts.find((a) => a.name === name);
  // The account that answered each upstream request from index `from` on.
  const answeredBy = (from) => up.turns().slice(from).map((r) => NAME_OF[r.credential]);

  before(async () => {
    up = await startFakeUpstream();
    proxy = await startProxy({
      config: {
        maxSessions: 8, accountBackoffMs: 60_000, // rests outlast the suite: no test races a reset
        accounts: [
          { name: 'a', apiKey: KEYS.a },
          { name: 'b', apiKey: KEYS.b },
          { name: 'c', apiKey: KEYS.c, priority: 2 },
        ],
      },
      // The proxy's own key must never reach a child of a configured account.
      env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-proxy-own-key' },
    });
  });
  after(async () => {
    const r = await proxy?.stop();
    assert.equal(r?.code, 0, proxy?.logs().slice(-3000));
    assert.deepEqual(proxy.sanitizerReports(), []);
    proxy?.cleanup();
    await up?.close();
  });

  // conversation i's first request and the account it went to
  const firsts = [];

  test('new conversations spread over the best-priority accounts; /health lists them without secrets', async () => {
    for (let i = 0; i < 6; i++) {
      const from = up.turns().length;
      const body = message([{ role: 'user', content: `[[say:answer ${i}]] conversation ${i}` }]);
      const r = await post(proxy, '/v1/messages', body);
      assert.equal(r.status, 200, r.text);
      assert.equal(textOf(r), `answer ${i}`);
      const by = answeredBy(from);
      assert.equal(by.length, 1);
      firsts.push({ body, reply: r.json.content, account: by[0] });
    }
    const used = new Set(firsts.map((f) => f.account));
    assert.deepEqual([...used].sort(), ['a', 'b'], 'both priority-1 accounts, never the priority-2 one');
    assert.ok(!up.requests.some((r) => r.credential === 'sk-proxy-own-key'));
    const h = await health();
    assert.deepEqual(h.accounts.map((a) => [a.name, a.kind, a.priority, a.authenticated, a.limited]),
      [['a', 'api_key', 1, true, false], ['b', 'api_key', 1, true, false], ['c', 'api_key', 2, true, false]]);
    assert.equal(h.accounts.reduce((n, a) => n + a.requests, 0), 6);
    assert.ok(h.accounts.find((a) => a.name === 'a').outputTokens > 0);
    const text = JSON.stringify(h);
    for (const key of Object.values(KEYS)) assert.ok(!text.includes(key));
    // The turn's log line names its account.
    assert.ok(proxy.logEvents('session.turn').every((e) => ['a', 'b'].includes(e.account)));
  });

  test('follow-ups and seeded restarts stay on the conversation\'s account', async () => {
    for (const [i, f] of firsts.entries()) {
      const from = up.turns().length;
      const follow = message([...f.body.messages, { role: 'assistant', content: f.reply },
        { role: 'user', content: `[[say:again ${i}]]` }]);
      const r = await post(proxy, '/v1/messages', follow);
      assert.equal(r.status, 200, r.text);
      assert.equal(textOf(r), `again ${i}`);
      assert.deepEqual(answeredBy(from), [f.account]);
      // A history no session holds (another reply): seeded into a new process, on the same account (one
      // conversation per account is enough: each costs a spawn).
      if (firsts.findIndex((x) => x.account === f.account) !== i) continue;
      const seeded = message([...f.body.messages, { role: 'assistant', content: 'a reply nobody holds' },
        { role: 'user', content: `[[say:seeded ${i}]]` }]);
      const s = await post(proxy, '/v1/messages', seeded);
      assert.equal(s.status, 200, s.text);
      assert.deepEqual(answeredBy(from), [f.account, f.account]);
    }
  });

  test('a tool call and its result are served by one account', async () => {
    const tools = [{ name: 'lookup', description: 'Look up', input_schema: { type: 'object', properties: { q: { type: 'string' } } } }];
    const from = up.turns().length;
    const first = message([{ role: 'user', content: '[[tool:lookup:{"q":"x"}]] tools conversation' }], { tools });
    const r1 = await post(proxy, '/v1/messages', first);
    assert.equal(r1.status, 200, r1.text);
    assert.equal(r1.json.stop_reason, 'tool_use');
    const use = r1.json.content.find((b) => b.type === 'tool_use');
    const r2 = await post(proxy, '/v1/messages', message([...first.messages, { role: 'assistant', content: r1.json.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'found it' }] }], { tools }));
    assert.equal(r2.status, 200, r2.text);
    assert.equal(textOf(r2), 'Tool said: found it');
    const by = answeredBy(from);
    assert.equal(by.length, 2);
    assert.equal(by[0], by[1]);
  });

  test('a rate-limited account fails over before the first byte; the client sees a normal answer', async () => {
    const f = firsts.find((x) => x.account === 'a');
    up.limit(KEYS.a, 429);
    const from = up.turns().length;
    const follow = message([...f.body.messages, { role: 'assistant', content: f.reply },
      { role: 'user', content: '[[say:after failover]]' }], { stream: true });
    const r = await post(proxy, '/v1/messages', follow);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /event: message_start/);
    assert.doesNotMatch(r.text, /event: error/);
    assert.equal(r.text.match(/"text":"([^"]*)"/g).map((m) => m.slice(8, -1)).join(''), 'after failover');
    assert.deepEqual(answeredBy(from), ['a', 'b']);
    const a = await account('a');
    assert.equal(a.limited, true);
    assert.equal(a.limitReason, 'rate_limit');
    assert.ok(a.limitedUntil > Date.now() - 1000);
    assert.equal(a.failovers, 1);
    assert.ok(proxy.logEvents('account.failover').some((e) => e.account === 'a' && e.status === '429'));
    const metrics = await (await fetch(`${proxy.url}/metrics`)).text();
    assert.match(metrics, /claude_ws_proxy_account_failovers_total\{account="a"\} 1\n/);
    assert.match(metrics, /claude_ws_proxy_account_limited\{account="a"\} 1\n/);
    assert.match(metrics, /claude_ws_proxy_account_output_tokens_total\{account="b"\} [1-9]/);
    // While a rests, conversations that belong to it go to b without asking a.
    const g = firsts.filter((x) => x.account === 'a').at(-1);
    const from2 = up.turns().length;
    const r2 = await post(proxy, '/v1/messages', message([...g.body.messages, { role: 'assistant', content: 'other' },
      { role: 'user', content: '[[say:rerouted]]' }]));
    assert.equal(r2.status, 200, r2.text);
    assert.deepEqual(answeredBy(from2), ['b']);
  });

  test('with both priority-1 accounts limited, the priority-2 account serves; all limited: 429 with retry-after', async () => {
    up.limit(KEYS.b, 529);
    const from = up.turns().length;
    const r = await post(proxy, '/v1/messages', message([{ role: 'user', content: '[[say:from c]] priority' }]));
    assert.equal(r.status, 200, r.text);
    assert.equal(textOf(r), 'from c');
    assert.equal(answeredBy(from).at(-1), 'c');
    assert.ok(!answeredBy(from).slice(0, -1).includes('c'));

    up.limit(KEYS.c, 401);
    const all = await post(proxy, '/v1/messages', message([{ role: 'user', content: '[[say:nobody]] all limited' }]));
    assert.equal(all.status, 429, all.text);
    assert.equal(all.json.type, 'error');
    assert.equal(all.json.error.type, 'rate_limit_error');
    assert.ok(Number(all.headers.get('retry-after')) >= 1, all.headers.get('retry-after'));
    const oa = await post(proxy, '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'all limited, openai' }] });
    assert.equal(oa.status, 429, oa.text);
    assert.equal(oa.json.error.type, 'requests');
    assert.ok(Number(oa.headers.get('retry-after')) >= 1);
    const h = await health();
    assert.ok(h.accounts.every((x) => x.limited || x.limitedMs > 0));
    assert.equal(h.accounts.find((x) => x.name === 'c').limitReason, 'authentication');
  });

});

describe('an account that rested is used again', { skip }, () => {
  test('after its back-off the limited account serves its conversations again', async () => {
    const up = await startFakeUpstream();
    const proxy = await startProxy({
      config: { accountBackoffMs: 500, warmSessions: 2, accounts: [{ name: 'a', apiKey: KEYS.a }, { name: 'b', apiKey: KEYS.b }] },
      env: { ANTHROPIC_BASE_URL: up.url },
    });
    try {
      const health = async () => (await fetch(`${proxy.url}/health`)).json();
      // Warm processes belong to an account: one each where new conversations go.
      await proxy.until(() => proxy.logEvents('session.spawn').filter((e) => e.warm === '1').length === 2);
      assert.deepEqual(proxy.logEvents('session.spawn').map((e) => e.account).sort(), ['a', 'b']);
      // A conversation, and where it lives.
      const body = message([{ role: 'user', content: '[[say:first]] recovery' }]);
      assert.equal((await post(proxy, '/v1/messages', body)).status, 200);
      const home = NAME_OF[up.lastTurn().credential];
      const other = home === 'a' ? 'b' : 'a';
      up.limit(KEYS[home], 429);
      const later = (say) => message([...body.messages, { role: 'assistant', content: 'not held' }, { role: 'user', content: `[[say:${say}]]` }]);
      const from = up.turns().length;
      const r = await post(proxy, '/v1/messages', later('moved'));
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(up.turns().slice(from).map((t) => NAME_OF[t.credential]), [home, other]);
      up.unlimit(KEYS[home]);
      await proxy.until(async () => (await health()).accounts.every((x) => !x.limited), 60_000);
      const back = up.turns().length;
      const r2 = await post(proxy, '/v1/messages', later('back home'));
      assert.equal(r2.status, 200, r2.text);
      assert.deepEqual(up.turns().slice(back).map((t) => NAME_OF[t.credential]), [home]);
      const h = (await health()).accounts.find((x) => x.name === home);
      assert.ok(h.limitedMs > 0 && h.failovers === 1, JSON.stringify(h));
    } finally {
      const rc = await proxy.stop();
      assert.equal(rc.code, 0, proxy.logs().slice(-3000));
      assert.deepEqual(proxy.sanitizerReports(), []);
      proxy.cleanup();
      await up.close();
    }
  });
});

describe('accounts: start-up errors name the account', () => {
  for (const [accounts, needle] of [
    [[{ name: 'w', apiKey: 'SECRET-1' }, { name: 'w', oauthToken: 'SECRET-2' }], 'accounts[1] ("w"): the name is also'],
    [[{ name: 'two', apiKey: 'SECRET-1', oauthToken: 'SECRET-2' }], 'accounts[0] ("two"): has both'],
    [[{ name: 'none', priority: 1 }], 'accounts[0] ("none"): needs one credential'],
    [[{ name: 'typo', apiKey: 'SECRET-1', claudeConfigDirs: '/x' }], 'accounts[0] ("typo"): unknown key "claudeConfigDirs"'],
  ]) {
    test(needle, async () => {
      const proxy = await startProxy({ config: { accounts }, wait: false });
      const r = await proxy.exited;
      assert.equal(r.code, 1);
      assert.ok(proxy.logs().includes(needle), proxy.logs());
      assert.ok(!proxy.logs().includes('SECRET'), 'no secret in the message');
      proxy.cleanup();
    });
  }
});

describe('a config-dir account logs in through the proxy', () => {
  const FAKE_CLAUDE = path.join(import.meta.dirname, '../fakes/fake-claude-login.sh');
  test('login, status and logout per account; the other accounts and the proxy\'s own dir are untouched', async () => {
    const work = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'account-work-'));
    const p = await startProxy({
      config: { claudePath: FAKE_CLAUDE, accounts: [{ name: 'work', claudeConfigDir: work }, { name: 'key', apiKey: KEYS.a }] },
    });
    const call = async (method, pathname, body) => {
      const res = await fetch(p.url + pathname, { method, headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined });
      const text = await res.text();
      return { status: res.status, text, json: JSON.parse(text) };
    };
    try {
      let h = await (await fetch(`${p.url}/health`)).json();
      assert.deepEqual(h.accounts.map((a) => [a.name, a.kind, a.authenticated]), [['work', 'config_dir', false], ['key', 'api_key', true]]);
      const login = await call('POST', '/auth/login?account=work');
      assert.equal(login.status, 200, login.text);
      assert.match(login.json.url, /^https:\/\/claude\.com\/cai\/oauth\/authorize\?/);
      let st = await call('GET', '/auth/status');
      const entry = st.json.accounts.find((a) => a.name === 'work');
      assert.equal(entry.loginInProgress, true);
      assert.equal(entry.login.url, login.json.url);
      assert.equal(st.json.loginInProgress, false, 'the proxy\'s own login is another one');
      const code = await call('POST', '/auth/code?account=work', { code: 'good#state1' });
      assert.equal(code.status, 200, code.text);
      assert.equal(code.json.success, true);
      assert.ok(fs.existsSync(path.join(work, '.credentials.json')), 'written in the account\'s own dir');
      assert.ok(!fs.existsSync(path.join(p.claudeConfigDir, '.credentials.json')));
      st = await call('GET', '/auth/status?account=work');
      assert.equal(st.json.account, 'work');
      assert.equal(st.json.authenticated, true);
      assert.equal(st.json.method, 'credentials_file');
      st = await call('GET', '/auth/status');
      assert.deepEqual(st.json.accounts.map((a) => [a.name, a.authenticated]), [['work', true], ['key', true]]);
      assert.equal(st.json.accounts[0].subscriptionType, 'max');
      assert.ok(!st.text.includes('FAKEACCESS') && !st.text.includes(KEYS.a));
      assert.ok(p.logEvents('auth.credentials_changed').some((e) => e.account === 'work' && e.reason === 'login'));
      assert.equal((await call('POST', '/auth/login?account=key')).status, 400);
      assert.equal((await call('POST', '/auth/login?account=nobody')).status, 404);
      const out = await call('POST', '/auth/logout?account=work');
      assert.equal(out.status, 200, out.text);
      assert.ok(!fs.existsSync(path.join(work, '.credentials.json')));
      h = await (await fetch(`${p.url}/health`)).json();
      assert.equal(h.accounts[0].authenticated, false);
      // The dashboard lists the accounts too.
      const d = await (await fetch(`${p.url}/api/dashboard`)).json();
      assert.deepEqual(d.auth.accounts.map((a) => a.name), ['work', 'key']);
      const metrics = await (await fetch(`${p.url}/metrics`)).text();
      assert.match(metrics, /claude_ws_proxy_account_requests_total\{account="work"\} 0/);
      assert.match(metrics, /claude_ws_proxy_account_limited\{account="key"\} 0/);
    } finally {
      const rc = await p.stop();
      assert.equal(rc.code, 0, p.logs().slice(-3000));
      assert.deepEqual(p.sanitizerReports(), []);
      p.cleanup();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});

// OAuth-token accounts: the CLI then reports rate limits as rate_limit_event, whose reset the account rests
// until. Such a CLI must only ever see loopback, so the whole scenario runs in a network namespace.
const canUnshare = (() => {
  try { return spawnSync('unshare', ['-n', 'true']).status === 0; } catch { return false; }
})();
describe('oauthToken accounts rest until the reset their rate_limit_event gives', { skip: skip || (!canUnshare && 'needs unshare -n (root)') }, () => {
  test('failover on a reported limit, limitedUntil is the reset, all limited: retry-after is the earliest reset', async () => {
    const script = path.join(import.meta.dirname, 'lib/accounts-oauth-run.mjs');
    const r = spawnSync('unshare', ['-n', 'sh', '-c', `ip link set lo up && exec "${process.execPath}" "${script}"`],
      { env: process.env, encoding: 'utf8', timeout: 180_000 });
    const last = r.stdout.trim().split('\n').at(-1);
    let out;
    try { out = JSON.parse(last); } catch { assert.fail(`no result: ${r.stdout}\n${r.stderr}`); }
    assert.equal(out.error, undefined, `${out.error}\n${out.logs}`);
    assert.deepEqual(out.first, { status: 200, sawBearer: true });
    assert.equal(out.moved.status, 200);
    assert.equal(out.moved.text, 'moved');
    assert.deepEqual(out.moved.by, [out.home, out.home === 'x' ? 'y' : 'x']);
    // The answer carries the serving account's rate-limit state, not the one that failed over.
    assert.equal(out.moved.unifiedStatus, 'allowed');
    assert.equal(out.all.unifiedStatus, 'rejected');
    assert.equal(out.homeAfter.limited, true);
    assert.equal(out.homeAfter.limitedUntil, out.resetHome * 1000, 'rests until the reset the CLI reported');
    assert.equal(out.homeAfter.limitReason, 'rate_limit');
    assert.equal(out.all.status, 429);
    assert.equal(out.all.type, 'rate_limit_error');
    assert.ok(out.all.retryAfter > 1700 && out.all.retryAfter <= 1800, `retry-after ${out.all.retryAfter}`);
    assert.equal(out.otherAfter.limitedUntil, out.resetOther * 1000);
    assert.equal(out.requestsWithoutToken, 0);
    assert.equal(out.stop.code, 0, out.logs);
    assert.deepEqual(out.sanitizer, []);
  });
});
