// cli-matrix: ctest runs this file once per CLI version (CLAUDE_TEST_CLI_VERSION).
// What the model sees is what the client sent: for a plain question, a tool result and a seeded
// conversation, the fake upstream's request log carries the client's text exactly. The CLI adds blocks
// that no setting turns off (docs/cli-protocol-notes.md, "What the model sees"); this suite pins
// precisely which ones remain on each version, so a new one fails here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startFakeUpstream } = await import(path.join(SOURCE_DIR, 'tests/fakes/fake-upstream.mjs'));
const { startProxy, TEST_CLIS, cliAtLeast } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));

const MODEL = 'claude-sonnet-4-5';
const T = { timeout: 120_000 };
const WEATHER = { name: 'weather', description: 'Current weather', input_schema: { type: 'object', properties: {} } };

// The reminder blocks each version adds that no setting removes (CLAUDE_CODE_SIMPLE would, but it breaks
// subscription logins): 2.1.100 and 2.1.197 a date context; 2.1.332 the host environment, the model's
// identity and the date. 2.1.332 puts them on the first user turn, or on the resumed one.
const remaining = (version) => (cliAtLeast(version, '2.1.332') ? ['environment', 'model', 'date'] : ['date']);
// With --resume of a turn that ends in tool results, the CLI adds this text (CLAUDE_CODE_RESUME_INTERRUPTED_TURN).
const CONTINUE = 'Continue from where you left off.';

const REMINDER = /^<system-reminder>\n([\s\S]*?)\n<\/system-reminder>\s*$/;
function reminderKind(text) {
  const m = REMINDER.exec(text);
  if (!m) return null;
  if (/^# Environment\n/.test(m[1])) return 'environment';
  if (/^You are powered by the model/.test(m[1])) return 'model';
  if (/^Today's date is \d{4}-\d\d-\d\d\.$/.test(m[1]) || /\n# currentDate\nToday's date is \d{4}-\d\d-\d\d\.\n/.test(m[1])) return 'date';
  return `unknown: ${m[1].slice(0, 80)}`;
}
const blocksOf = (msg) => (typeof msg.content === 'string' ? [{ type: 'text', text: msg.content }] : msg.content);
// A user message: the kinds of its reminder blocks, and its other blocks as they are.
function split(msg) {
  const reminders = [];
  const rest = [];
  for (const b of blocksOf(msg)) {
    const kind = b.type === 'text' ? reminderKind(b.text) : null;
    if (kind) reminders.push(kind);
    else rest.push(b.type === 'text' ? { type: 'text', text: b.text } : b);
  }
  return { reminders, rest };
}
// 2.1.332 appends its reminders to a resumed tool result's text: the client's text, then "\n\n" + each.
function splitToolResult(content) {
  const parts = content.split(/\n\n(?=<system-reminder>)/);
  return { text: parts[0], reminders: parts.slice(1).map(reminderKind) };
}

for (const { version, cli, transport } of TEST_CLIS) {
  const skip = !fs.existsSync(cli) && `claude ${version} not installed`;
  describe(`what the model sees (CLI ${version} over ${transport})`, { skip }, () => {
    let up;
    let proxy;
    before(async () => {
      up = await startFakeUpstream();
      proxy = await startProxy({ config: { claudePath: cli, transport, defaultModel: MODEL },
        env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test' } });
    });
    after(async () => {
      const r = await proxy?.stop();
      assert.deepEqual(proxy?.sanitizerReports() ?? [], []);
      assert.equal(r?.code, 0, proxy?.logs().slice(-2000));
      proxy?.cleanup();
      await up?.close();
    });

    async function ask(body) {
      const before = up.turns().length;
      const res = await fetch(`${proxy.url}/v1/messages`, { method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'x', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: MODEL, max_tokens: 256, ...body }) });
      assert.equal(res.status, 200, await res.clone().text());
      await res.json();
      const turns = up.turns().slice(before);
      assert.equal(turns.length, 1, 'one upstream request');
      const raw = JSON.stringify(turns[0].body);
      assert.doesNotMatch(raw, /total_tokens|tokens left/, 'no token-budget reminders');
      return turns[0].body;
    }

    test('a plain question reaches the model as written', T, async () => {
      const question = 'What is two plus two?\n  Answer  in words. ';
      const body = await ask({ messages: [{ role: 'user', content: question }] });
      assert.equal(body.messages.length, 1);
      const { reminders, rest } = split(body.messages[0]);
      assert.deepEqual(rest, [{ type: 'text', text: question }]);
      assert.deepEqual(reminders, remaining(version));
      if (!cliAtLeast(version, '2.1.332')) assert.doesNotMatch(JSON.stringify(body.messages), /Primary working directory/);
    });

    test("a tool result reaches the model as the client's text", T, async () => {
      const body = await ask({ tools: [WEATHER], messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_fid1', name: 'weather', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_fid1', content: 'Sunny, 21C' }] }] });
      const [first, call, result] = body.messages;
      assert.equal(body.messages.length, 3);
      const opening = split(first);
      assert.deepEqual(opening.rest, [{ type: 'text', text: 'Weather in Paris?' }]);
      assert.deepEqual(opening.reminders, cliAtLeast(version, '2.1.332') ? [] : remaining(version));
      assert.deepEqual(call.content.map((b) => [b.type, b.id, b.name]), [['tool_use', 'toolu_fid1', 'mcp__client__weather']]);
      const [toolResult, ...after] = blocksOf(result);
      assert.equal(toolResult.type, 'tool_result');
      assert.equal(toolResult.tool_use_id, 'toolu_fid1');
      assert.equal(typeof toolResult.content, 'string');
      const seen = splitToolResult(toolResult.content);
      assert.equal(seen.text, 'Sunny, 21C');
      assert.deepEqual(seen.reminders, cliAtLeast(version, '2.1.332') ? remaining(version) : []);
      assert.deepEqual(after.map((b) => b.text), [CONTINUE]);
    });

    test('/v1/models lists the models the CLI knows with the configured ones; answers name the model that answered', T, async () => {
      // Before any CLI answered initialize, the configured (default) models only.
      const listed = async () => (await (await fetch(`${proxy.url}/v1/models`)).json()).data.map((m) => m.id);
      for (const id of ['claude-opus-4-6', 'claude-sonnet-4-6', 'claude-sonnet-4-5-20250929', 'claude-haiku-4-5-20251001',
        'claude-3-5-haiku-20241022']) assert.ok((await listed()).includes(id), id);
      const res = await fetch(`${proxy.url}/v1/messages`, { method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'x', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'opus', max_tokens: 64, messages: [{ role: 'user', content: '[[say:which model]]' }] }) });
      const msg = await res.json();
      assert.equal(res.status, 200, JSON.stringify(msg));
      const upstreamModel = up.lastTurn().body.model;
      assert.equal(msg.model, upstreamModel, 'the model that answered, not the requested alias');
      const rewritten = { '2.1.332': 'claude-opus-5-5', '2.1.197': 'claude-opus-4-8' }[version];
      if (rewritten) assert.equal(upstreamModel, rewritten);
      // The CLI's initialize named its models: they are listed now, after the configured ones.
      const ids = await listed();
      const fromCli = { '2.1.332': ['claude-opus-5-5', 'claude-sonnet-5-5', 'claude-haiku-5-5'],
        '2.1.197': ['claude-opus-4-8', 'claude-sonnet-5'], '2.1.100': ['claude-sonnet-4-5'] }[version] ?? [];
      for (const id of fromCli) assert.ok(ids.includes(id), `${id} in ${ids}`);
      assert.equal(new Set(ids).size, ids.length, 'each model once');
      const one = await (await fetch(`${proxy.url}/v1/models/${fromCli[0] ?? 'claude-opus-4-6'}`)).json();
      assert.equal(one.id, fromCli[0] ?? 'claude-opus-4-6');
    });

    test('a seeded conversation reaches the model as written', T, async () => {
      const body = await ask({ messages: [
        { role: 'user', content: 'First question' },
        { role: 'assistant', content: 'First answer' },
        { role: 'user', content: [{ type: 'text', text: 'Second' }, { type: 'text', text: ' question' }] }] });
      assert.equal(body.messages.length, 3);
      const [first, answer, last] = body.messages.map(split);
      // 2.1.332 reminds on the resumed (last) turn, the older ones on the first.
      const onFirst = cliAtLeast(version, '2.1.332') ? [] : remaining(version);
      assert.deepEqual(first.rest, [{ type: 'text', text: 'First question' }]);
      assert.deepEqual(first.reminders, onFirst);
      assert.deepEqual(answer.rest, [{ type: 'text', text: 'First answer' }]);
      assert.deepEqual(last.rest, [{ type: 'text', text: 'Second' }, { type: 'text', text: ' question' }]);
      assert.deepEqual(last.reminders, cliAtLeast(version, '2.1.332') ? remaining(version) : []);
    });
  });
}
