// Warm processes fit any new conversation: they start with nothing request-specific (the default model, no
// system prompt, no tools) and a request that takes one gives it its system prompt and tools
// (initialize), its model (set_model) and thinking (set_max_thinking_tokens). Real CLIs 2.1.197 and
// 2.1.332 over stdio, the fake upstream, the official SDKs; "no cold spawn" is read from the proxy's
// session.spawn log lines (warm=0 is a spawn a request paid for).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startFakeUpstream } = await import(path.join(SOURCE_DIR, 'tests/fakes/fake-upstream.mjs'));
const { startProxy } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));

const DEFAULT_MODEL = 'claude-sonnet-4-5';
const OTHER_MODEL = 'claude-opus-4-5';
const T = { timeout: 120_000 };
const WEATHER = {
  name: 'get_weather',
  description: 'Current weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const asOpenAI = (t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.input_schema } });
const systemOf = (req) => (req.body.system || []).map((b) => b.text).join('\n');
const userText = (m) => (typeof m.content === 'string' ? m.content : m.content.map((b) => b.text ?? '').join(''));
let seq = 0;
const marker = (name) => `${name}-${process.pid}-${++seq}`;

for (const version of (process.env.WARM_CLIS || '2.1.197,2.1.332').split(',')) {
  const cli = path.join(SOURCE_DIR, `.deps/claude-${version}/node_modules/.bin/claude`);
  describe(`warm processes fit any request (CLI ${version})`, { skip: !fs.existsSync(cli) && `claude ${version} not installed` }, () => {
    let up;
    let proxy;
    let anthropic;
    let openai;
    const coldSpawns = () => proxy.logEvents('session.spawn').filter((e) => e.warm === '0');
    // The upstream request whose last user message holds text.
    const asked = (text) => up.turns().find((r) => userText(r.body.messages.at(-1)).includes(text));

    before(async () => {
      up = await startFakeUpstream();
      proxy = await startProxy({
        config: { claudePath: cli, transport: 'stdio', defaultModel: DEFAULT_MODEL, warmSessions: 1, maxSessions: 4, logLevel: 'debug' },
        env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test' },
      });
      anthropic = new Anthropic({ baseURL: proxy.url, apiKey: 'k', maxRetries: 0 });
      openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'k', maxRetries: 0 });
    });
    after(async () => {
      if (proxy) {
        const r = await proxy.stop();
        assert.equal(r.code, 0, proxy.logs().slice(-3000));
        assert.deepEqual(proxy.sanitizerReports(), []);
        proxy.cleanup();
      }
      await up?.close();
    });

    test('a warm process of the default model serves another model, a system prompt and tools', T, async () => {
      if (version === '2.1.332') {
        // This CLI connects its MCP servers and lists their tools at start-up, before any line from us: the
        // warm process listed none, so taking it must make the CLI list the request's tools again.
        await proxy.until(() => proxy.logEvents('session.tools_listed').some((e) => e.init_sent === '0'), 60000);
      }
      const m = marker('sys');
      const res = await anthropic.messages.create({
        model: OTHER_MODEL, max_tokens: 512, system: `You are ${m}.`, tools: [WEATHER],
        messages: [{ role: 'user', content: `[[say:hello ${m}]]` }],
      });
      assert.equal(res.content[0].text, `hello ${m}`);
      const req = asked(m);
      assert.equal(req.body.model, OTHER_MODEL);
      assert.match(systemOf(req), new RegExp(`You are ${m}\\.`));
      assert.deepEqual(req.body.tools.map((t) => t.name), ['mcp__client__get_weather']);
      assert.deepEqual(coldSpawns(), []);
      const warm = proxy.logEvents('session.spawn').filter((e) => e.warm === '1');
      assert.ok(warm.length >= 1);
      assert.ok(warm.every((e) => e.model === DEFAULT_MODEL), JSON.stringify(warm));
    });

    test('the next new conversations take refilled warm processes, each with its own settings', T, async () => {
      for (const model of [DEFAULT_MODEL, OTHER_MODEL, DEFAULT_MODEL]) {
        const m = marker('next');
        const res = await anthropic.messages.create({
          model, max_tokens: 512, system: `Prompt ${m}`, messages: [{ role: 'user', content: `[[say:${m}]]` }],
        });
        assert.equal(res.content[0].text, m);
        const req = asked(m);
        assert.equal(req.body.model, model);
        assert.match(systemOf(req), new RegExp(`Prompt ${m}`));
        assert.deepEqual(req.body.tools ?? [], [], 'no tools: none offered');
      }
      assert.deepEqual(coldSpawns(), []);
    });

    test("a client tool call and its result run on the warm process that took the conversation", T, async () => {
      const m = marker('tool');
      const messages = [{ role: 'user', content: `${m} [[tool:get_weather:{"city":"Oslo"}]]` }];
      const first = await anthropic.messages.create({ model: OTHER_MODEL, max_tokens: 512, tools: [WEATHER], messages });
      assert.equal(first.stop_reason, 'tool_use');
      const use = first.content.find((b) => b.type === 'tool_use');
      assert.deepEqual([use.name, use.input], ['get_weather', { city: 'Oslo' }]);
      messages.push({ role: 'assistant', content: first.content });
      messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'cold and clear' }] });
      const second = await anthropic.messages.create({ model: OTHER_MODEL, max_tokens: 512, tools: [WEATHER], messages });
      assert.match(second.content.map((b) => b.text ?? '').join(''), /cold and clear/);
      assert.equal(second.stop_reason, 'end_turn');
      assert.deepEqual(coldSpawns(), []);
    });

    test('OpenAI with tools and another model takes a warm process', T, async () => {
      const m = marker('oai');
      const r = await openai.chat.completions.create({
        model: OTHER_MODEL, tools: [asOpenAI(WEATHER)],
        messages: [{ role: 'system', content: `OpenAI ${m}` }, { role: 'user', content: `[[say:${m}]]` }],
      });
      assert.equal(r.choices[0].message.content, m);
      const req = asked(m);
      assert.equal(req.body.model, OTHER_MODEL);
      assert.match(systemOf(req), new RegExp(`OpenAI ${m}`));
      assert.deepEqual(req.body.tools.map((t) => t.name), ['mcp__client__get_weather']);
      assert.deepEqual(coldSpawns(), []);
    });

    test('a tool result whose id the client rewrote (OpenClaw: [A-Za-z0-9] only) resumes its parked session', T, async () => {
      const m = marker('claw');
      const messages = [{ role: 'user', content: `${m} [[tool:get_weather:{"city":"Bergen"}]]` }];
      const first = await anthropic.messages.create({ model: DEFAULT_MODEL, max_tokens: 512, tools: [WEATHER], messages });
      const use = first.content.find((b) => b.type === 'tool_use');
      assert.match(use.id, /[^A-Za-z0-9]/, 'the id has characters such a client drops');
      const strip = (id) => id.replace(/[^A-Za-z0-9]/g, '');
      const spawnsBefore = proxy.logEvents('session.spawn').length;
      messages.push({ role: 'assistant', content: first.content.map((b) => (b.type === 'tool_use' ? { ...b, id: strip(b.id) } : b)) });
      messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: strip(use.id), content: `rain in ${m}` }] });
      const second = await anthropic.messages.create({ model: DEFAULT_MODEL, max_tokens: 512, tools: [WEATHER], messages });
      assert.match(second.content.map((b) => b.text ?? '').join(''), new RegExp(`rain in ${m}`));
      const rewritten = proxy.logEvents('session.tool_id_rewritten').at(-1);
      assert.equal(rewritten.client_id, strip(use.id));
      assert.equal(rewritten.id, use.id);
      // Served by the parked session: no process was spawned for the follow-up, none was seeded.
      assert.ok(proxy.logEvents('session.spawn').slice(spawnsBefore).every((e) => e.warm === '1'));
      // The next turn of that conversation (ids still rewritten) extends the same session.
      messages.push({ role: 'assistant', content: second.content });
      messages.push({ role: 'user', content: `[[say:after ${m}]]` });
      const third = await anthropic.messages.create({ model: DEFAULT_MODEL, max_tokens: 512, tools: [WEATHER], messages });
      assert.equal(third.content[0].text, `after ${m}`);
      const turn = proxy.logEvents('session.turn').at(-1);
      assert.equal(turn.reused, '1');
      assert.equal(turn.messages, String(messages.length));
    });

    test('a parked session whose calls were answered in another request is released at once', T, async () => {
      const m = marker('gone');
      const messages = [{ role: 'user', content: `${m} [[tool:get_weather:{"city":"Tromso"}]]` }];
      const first = await anthropic.messages.create({ model: DEFAULT_MODEL, max_tokens: 512, tools: [WEATHER], messages });
      const use = first.content.find((b) => b.type === 'tool_use');
      const parked = proxy.logEvents('session.tool_wait').at(-1).session;
      // The client answered the call on its own and went on: the history holds the call and its result.
      messages.push({ role: 'assistant', content: first.content });
      messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'snow' }] });
      messages.push({ role: 'assistant', content: 'It snows.' });
      messages.push({ role: 'user', content: `[[say:moved on ${m}]]` });
      const next = await anthropic.messages.create({ model: DEFAULT_MODEL, max_tokens: 512, tools: [WEATHER], messages });
      assert.equal(next.content[0].text, `moved on ${m}`);
      const closed = proxy.logEvents('session.close').find((e) => e.session === parked);
      assert.ok(closed, 'the parked session was closed');
      assert.match(closed.reason, /answered elsewhere/);
    });

    test('effort is a spawn flag: such a request spawns its own process', T, async () => {
      const m = marker('effort');
      const before = coldSpawns().length;
      const r = await openai.chat.completions.create({
        model: OTHER_MODEL, reasoning_effort: 'low', messages: [{ role: 'user', content: `[[say:${m}]]` }],
      });
      assert.equal(r.choices[0].message.content, m);
      assert.equal(asked(m).body.model, OTHER_MODEL);
      assert.equal(coldSpawns().length, before + 1);
      assert.equal(coldSpawns().at(-1).model, OTHER_MODEL);
    });
  });
}
