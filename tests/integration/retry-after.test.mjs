// A 429 the CLI retried as the upstream said (retry-after: 1) and then gave up on reaches the client with
// that same retry-after, not a guess: the proxy takes it from the CLI's api_retry report (retry_delay_ms).
// The real CLI 2.1.197 against the fake upstream, allowed one retry.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startProxy, CLI_197 } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));
const { startFakeUpstream } = await import(path.join(SOURCE_DIR, 'tests/fakes/fake-upstream.mjs'));

const MODEL = 'claude-sonnet-4-5';
const skip = !fs.existsSync(CLI_197) && 'claude 2.1.197 not installed';

describe('retry-after of a 429 the CLI retried', { skip }, () => {
  let up;
  let proxy;
  before(async () => {
    up = await startFakeUpstream();
    proxy = await startProxy({
      config: { claudePath: CLI_197, transport: 'stdio', defaultModel: MODEL, pingIntervalMs: 0 },
      // One retry: the CLI waits as retry-after says, asks again, gets the same 429 and gives up.
      env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test', CLAUDE_CODE_MAX_RETRIES: '1' },
    });
  });
  after(async () => {
    const r = await proxy.stop();
    const reports = proxy.sanitizerReports();
    proxy.cleanup();
    await up.close();
    assert.deepEqual(reports, []);
    assert.equal(r.code, 0);
  });

  async function ask(p, body) {
    const before = up.turns().length;
    const res = await fetch(`${proxy.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 64, ...body }) });
    const json = await res.json();
    return { res, json, attempts: up.turns().length - before };
  }

  for (const { p, type } of [{ p: '/v1/messages', type: 'rate_limit_error' }, { p: '/v1/chat/completions', type: 'requests' }]) {
    test(`${p}_says_retry_after_1`, { timeout: 120_000 }, async () => {
      const { res, json, attempts } = await ask(p, { messages: [{ role: 'user', content: '[[error:429]] [[retry_after:1]]' }] });
      assert.equal(res.status, 429, JSON.stringify(json));
      assert.equal(json.error.type, type);
      assert.equal(attempts, 2, 'the CLI asked again after waiting');
      assert.equal(res.headers.get('retry-after'), '1');
    });
  }

  test('the_cli_reported_the_wait', async () => {
    const retries = proxy.logEvents('session.api_retry');
    assert.ok(retries.length >= 2, JSON.stringify(retries));
    assert.ok(retries.every((e) => e.delay_ms === '1000' && e.status === '429'), JSON.stringify(retries));
  });
});
