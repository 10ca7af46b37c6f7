// cli-matrix: ctest runs this file once per CLI version (CLAUDE_TEST_CLI_VERSION).
// A turn the upstream refused, or one its client left, is taken back (rewind_conversation) instead of
// costing its process: the session then holds the conversation as it was before that turn, so a retry
// or a conversation that goes on from the client's last answer is served by the same process, and the
// upstream sees exactly what the client sent (no repeated question, no "[Request interrupted by user]").
// 2.1.100 has no rewind_conversation and 2.1.197 refuses to rewind a first turn: there the process is
// recycled as before.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startFakeUpstream } = await import(path.join(SOURCE_DIR, 'tests/fakes/fake-upstream.mjs'));
const { startProxy, stopChecked, TEST_CLIS, cliAtLeast } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));

const MODEL = 'claude-sonnet-4-5';
const T = { timeout: 120_000 };
const KEY = 'sk-test';

const textBlocks = (msg) => (typeof msg.content === 'string' ? [msg.content]
  : msg.content.filter((b) => b.type === 'text').map((b) => b.text));
// A user message's own text: the CLI's <system-reminder> blocks left out.
const ownText = (msg) => textBlocks(msg).filter((t) => !t.startsWith('<system-reminder>')).map((t) => t.trim());
const reminders = (msg) => textBlocks(msg).filter((t) => t.startsWith('<system-reminder>')).length;

for (const { version, cli, transport } of TEST_CLIS) {
  const skip = !fs.existsSync(cli) && `claude ${version} not installed`;
  const rewinds = cliAtLeast(version, '2.1.197');
  const rewindsFirstTurn = cliAtLeast(version, '2.1.332');
  describe(`a failed or abandoned turn keeps its process (CLI ${version} over ${transport})`, { skip }, () => {
    let up;
    let proxy;
    before(async () => {
      up = await startFakeUpstream();
      proxy = await startProxy({ config: { claudePath: cli, transport, defaultModel: MODEL, warmSessions: 0 },
        env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: KEY } });
    });
    after(async () => {
      await stopChecked(proxy);
      await up?.close();
    });

    async function ask(messages, { stream = false } = {}) {
      const res = await fetch(`${proxy.url}/v1/messages`, { method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'x', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: MODEL, max_tokens: 256, stream, messages }) });
      return { status: res.status, body: await res.json() };
    }
    const lastTurnSession = () => proxy.logEvents('session.turn').at(-1).session;
    const closesOf = (sid) => proxy.logEvents('session.close').filter((e) => e.session === sid);
    const rewoundOf = (sid) => proxy.logEvents('session.rewound').filter((e) => e.session === sid);
    // The session took the turn back, or (a CLI that cannot) was closed for it.
    const settled = (sid) => proxy.until(() => rewoundOf(sid).length > 0 || closesOf(sid).length > 0, 30_000);

    test('a follow-up the upstream refuses is taken back; its retry reaches the model once, from the same process', T, async () => {
      const u1 = { role: 'user', content: '[[say:first answer]] one' };
      const first = await ask([u1]);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const sid = lastTurnSession();
      const history = [u1, { role: 'assistant', content: first.body.content }, { role: 'user', content: 'two, please' }];

      up.limit(KEY, 529);
      const refused = await ask(history);
      up.unlimit(KEY);
      assert.equal(refused.status, 529, JSON.stringify(refused.body));
      assert.equal(refused.body.error.type, 'overloaded_error');
      await settled(sid);
      if (!rewinds) {
        assert.deepEqual(closesOf(sid).map((e) => e.reason), ['turn failed']);
        return;
      }
      assert.deepEqual(closesOf(sid), [], 'the process is kept');
      assert.equal(rewoundOf(sid).length, 1);

      const before = up.turns().length;
      const retried = await ask(history);
      assert.equal(retried.status, 200, JSON.stringify(retried.body));
      assert.equal(lastTurnSession(), sid, 'the retry is served by the same process');
      const sent = up.turns().slice(before);
      assert.equal(sent.length, 1);
      const msgs = sent[0].body.messages;
      assert.equal(msgs.length, 3, JSON.stringify(msgs).slice(0, 2000));
      assert.deepEqual(ownText(msgs[0]), ['[[say:first answer]] one']);
      assert.deepEqual(textBlocks(msgs[1]), ['first answer']);
      assert.deepEqual(ownText(msgs[2]), ['two, please'], 'the question once, without the failed attempt');
      assert.doesNotMatch(JSON.stringify(msgs), /API Error|interrupted/);
    });

    test('a client that leaves mid-answer: the conversation goes on from its last answer in the same process', T, async () => {
      const u1 = { role: 'user', content: '[[say:steady]] start' };
      const first = await ask([u1]);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const sid = lastTurnSession();
      const a1 = { role: 'assistant', content: first.body.content };

      // A streamed follow-up the client abandons at its first text delta.
      await new Promise((resolve, reject) => {
        const body = JSON.stringify({ model: MODEL, max_tokens: 1024, stream: true,
          messages: [u1, a1, { role: 'user', content: '[[slow:200]] [[long:60]] tell me more' }] });
        const req = http.request(`${proxy.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json',
          'x-api-key': 'x', 'anthropic-version': '2023-06-01', 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.on('data', (chunk) => { if (/content_block_delta/.test(chunk)) { req.destroy(); resolve(); } });
          res.on('end', () => reject(new Error('the stream ended before a delta')));
        });
        req.on('error', () => {});
        req.end(body);
      });
      await settled(sid);
      if (!rewinds) {
        assert.deepEqual(closesOf(sid).map((e) => e.reason), ['turn interrupted']);
        return;
      }
      assert.deepEqual(closesOf(sid), [], 'the process is kept');

      const before = up.turns().length;
      const next = await ask([u1, a1, { role: 'user', content: '[[say:on we go]] something else' }]);
      assert.equal(next.status, 200, JSON.stringify(next.body));
      assert.deepEqual(next.body.content.map((b) => b.text), ['on we go']);
      assert.equal(lastTurnSession(), sid, 'served by the same process');
      const msgs = up.turns().slice(before)[0].body.messages;
      assert.equal(msgs.length, 3, JSON.stringify(msgs).slice(0, 2000));
      assert.deepEqual(ownText(msgs[2]), ['[[say:on we go]] something else']);
      assert.doesNotMatch(JSON.stringify(msgs), /interrupted|tell me more/);
    });

    test('a refused first turn: the new conversation retried finds the same process, fresh', T, async () => {
      const u1 = { role: 'user', content: '[[say:fresh]] a new conversation' };
      up.limit(KEY, 529);
      const refused = await ask([u1]);
      up.unlimit(KEY);
      assert.equal(refused.status, 529, JSON.stringify(refused.body));
      const sid = lastTurnSession();
      await settled(sid);
      if (!rewindsFirstTurn) {
        assert.deepEqual(closesOf(sid).map((e) => e.reason), ['turn failed']);
        return;
      }
      assert.deepEqual(closesOf(sid), []);
      const before = up.turns().length;
      const retried = await ask([u1]);
      assert.equal(retried.status, 200, JSON.stringify(retried.body));
      assert.equal(lastTurnSession(), sid, 'the retry is served by the same process');
      const msgs = up.turns().slice(before)[0].body.messages;
      assert.equal(msgs.length, 1);
      assert.deepEqual(ownText(msgs[0]), ['[[say:fresh]] a new conversation']);
      // As on a first turn of a fresh process: the host environment, the model's identity, the date.
      assert.equal(reminders(msgs[0]), 3);
    });

    test('/metrics counts the turns taken back', T, async () => {
      const text = await (await fetch(`${proxy.url}/metrics`)).text();
      const m = /^claude_ws_proxy_turns_rewound_total (\d+)$/m.exec(text);
      assert.ok(m, text.slice(0, 500));
      // the three tests above: a refused follow-up, an abandoned follow-up, a refused first turn
      assert.equal(Number(m[1]), rewindsFirstTurn ? 3 : rewinds ? 2 : 0);
    });
  });
}
