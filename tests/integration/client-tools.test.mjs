// cli-matrix: ctest runs this file once per CLI version (CLAUDE_TEST_CLI_VERSION).
// Client tools end to end: tools defined by the HTTP client reach the model through the proxy's MCP server,
// the tool calls come back to the client under the client's own names, and the client's results resume
// the same CLI turn. The official Anthropic and openai SDKs, the real CLI and the fake upstream (which
// calls the offered tool whose name ends with NAME on [[tool:NAME:{json}]], and answers a tool_result turn
// with "Tool said: ..."), once per pinned CLI version: 2.1.100 over WebSocket, 2.1.197 and 2.1.332 over stdio.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startFakeUpstream } = await import(path.join(SOURCE_DIR, 'tests/fakes/fake-upstream.mjs'));
const { startProxy, TEST_CLIS } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));

const MODEL = 'claude-sonnet-4-5';
const T = { timeout: 120_000 };
// One entry per CLI version this run tests (lib/cli-versions.mjs): 2.1.100 over WebSocket, the others over stdio.
const TRANSPORTS = TEST_CLIS;
// 1x1 transparent PNG.
const PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

const WEATHER = {
  name: 'get_weather',
  description: 'Current weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const TIME = {
  name: 'get_time',
  description: 'Local time in a time zone',
  input_schema: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] },
};
// Nested objects, arrays of objects, arrays of enums, additionalProperties: must reach upstream as given.
const TRIP = {
  name: 'plan_trip',
  description: 'Plan a trip',
  input_schema: {
    type: 'object',
    properties: {
      trip: {
        type: 'object',
        properties: {
          legs: {
            type: 'array',
            items: {
              type: 'object',
              properties: { from: { type: 'string' }, to: { type: 'string' }, stops: { type: 'array', items: { type: 'integer' } } },
              required: ['from', 'to'],
            },
          },
          meta: { type: 'object', additionalProperties: { type: 'string' } },
        },
        required: ['legs'],
      },
      tags: { type: 'array', items: { type: 'string', enum: ['fast', 'cheap'] } },
    },
    required: ['trip'],
  },
};
const asOpenAI = (t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.input_schema } });

let seq = 0;
const marker = (name) => `${name}-${process.pid}-${++seq}`;
const call = (name, input) => `[[tool:${name}:${JSON.stringify(input)}]]`;

// The upstream request that carried the result of tool call `id`, and that result.
function upstreamResult(up, id) {
  for (const r of up.turns()) {
    for (const m of r.body.messages) {
      if (!Array.isArray(m.content)) continue;
      const b = m.content.find((x) => x.type === 'tool_result' && x.tool_use_id === id);
      if (b) return { request: r, block: b };
    }
  }
  return null;
}
// The upstream request whose last user message holds text.
const upstreamAsked = (up, text) => up.turns().find((r) => JSON.stringify(r.body.messages.at(-1)).includes(text));
// The client's words in a tool result; after --resume, 2.1.332 appends its reminder blocks to them
// (fidelity.test.mjs pins exactly which).
const resultText = (block) => (typeof block.content === 'string' ? block.content
  : block.content.filter((b) => b.type === 'text').map((b) => b.text).join(''))
  .replace(/\n\n<system-reminder>[\s\S]*$/, '');
const textOf = (msg) => msg.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
const dashboard = async (proxy) => (await fetch(`${proxy.url}/api/dashboard`)).json();

async function stopClean(proxy) {
  const r = await proxy.stop();
  assert.equal(r.code, 0, `proxy exit ${JSON.stringify(r)}\n${proxy.logs().slice(-3000)}`);
  assert.deepEqual(proxy.sanitizerReports(), []);
  proxy.cleanup();
}

// Every event of a streamed Anthropic response, raw.
async function anthropicEvents(client, params) {
  const events = [];
  for await (const e of await client.messages.create({ ...params, stream: true })) events.push(e);
  return events;
}

// A streamed chat completion: the chunks, the text, the tool calls assembled from delta.tool_calls.
async function openaiStream(client, params) {
  const chunks = [];
  const calls = [];
  let text = '';
  let finish = null;
  for await (const c of await client.chat.completions.create({ ...params, stream: true })) {
    chunks.push(c);
    const choice = c.choices[0];
    if (!choice) continue;
    text += choice.delta?.content ?? '';
    for (const d of choice.delta?.tool_calls ?? []) {
      calls[d.index] ??= { id: '', name: '', arguments: '' };
      if (d.id) calls[d.index].id = d.id;
      if (d.function?.name) calls[d.index].name += d.function.name;
      calls[d.index].arguments += d.function?.arguments ?? '';
    }
    finish = choice.finish_reason ?? finish;
  }
  return { chunks, calls, text, finish };
}

for (const { transport, cli, version } of TRANSPORTS) {
  const skip = !fs.existsSync(cli) && `claude ${version} not installed`;
  describe(`client tools over ${transport} (CLI ${version})`, { skip }, () => {
    let up;
    let proxy;
    let anthropic;
    let openai;
    const config = { claudePath: cli, transport, defaultModel: MODEL };
    const env = () => ({ ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test' });
    const create = (messages, extra = {}) =>
      anthropic.messages.create({ model: MODEL, max_tokens: 1024, tools: [WEATHER, TIME], messages, ...extra });

    before(async () => {
      up = await startFakeUpstream();
      proxy = await startProxy({ config, env: env() });
      anthropic = new Anthropic({ baseURL: proxy.url, apiKey: 'x', maxRetries: 0 });
      openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'x', maxRetries: 0 });
    });

    after(async () => {
      if (proxy) await stopClean(proxy);
      await up?.close();
    });

    test('anthropic_agent_loop_not_streamed', T, async () => {
      const city = marker('Oslo');
      const messages = [{ role: 'user', content: `Weather please ${call('get_weather', { city })}` }];
      const first = await create(messages);
      assert.equal(first.stop_reason, 'tool_use');
      const uses = first.content.filter((b) => b.type === 'tool_use');
      assert.equal(uses.length, 1);
      assert.equal(uses[0].name, 'get_weather');
      assert.deepEqual(uses[0].input, { city });
      assert.doesNotMatch(JSON.stringify(first), /mcp__/);
      // The CLI is parked on the call, waiting for the client.
      assert.equal((await dashboard(proxy)).pool.waiting, 1);
      const spawns = proxy.logEvents('session.spawn').length;

      messages.push({ role: 'assistant', content: first.content });
      messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: uses[0].id, content: `12 degrees in ${city}` }] });
      const second = await create(messages);
      assert.equal(second.stop_reason, 'end_turn');
      assert.equal(textOf(second), `Tool said: 12 degrees in ${city}`);
      const seen = upstreamResult(up, uses[0].id);
      assert.ok(seen, 'the upstream got a tool_result with the id the client saw');
      assert.equal(resultText(seen.block), `12 degrees in ${city}`);
      // The parked process went on with the same turn: nothing was spawned for the follow-up.
      assert.equal(proxy.logEvents('session.spawn').length, spawns);
      assert.equal((await dashboard(proxy)).pool.waiting, 0);

      messages.push({ role: 'assistant', content: second.content });
      messages.push({ role: 'user', content: '[[say:Thanks, bye.]]' });
      const third = await create(messages);
      assert.equal(textOf(third), 'Thanks, bye.');
      assert.equal(third.stop_reason, 'end_turn');
    });

    test('anthropic_agent_loop_streamed', T, async () => {
      const city = marker('Lima');
      const messages = [{ role: 'user', content: `Weather? ${call('get_weather', { city })}` }];
      const events = await anthropicEvents(anthropic, { model: MODEL, max_tokens: 1024, tools: [WEATHER, TIME], messages });
      assert.doesNotMatch(JSON.stringify(events), /mcp__/);
      const start = events.find((e) => e.type === 'content_block_start' && e.content_block.type === 'tool_use');
      assert.ok(start, 'a tool_use block was streamed');
      assert.equal(start.content_block.name, 'get_weather');
      const json = events.filter((e) => e.type === 'content_block_delta' && e.index === start.index && e.delta.type === 'input_json_delta')
        .map((e) => e.delta.partial_json).join('');
      assert.deepEqual(JSON.parse(json), { city });
      assert.equal(events.find((e) => e.type === 'message_delta').delta.stop_reason, 'tool_use');
      assert.equal(events.at(-1).type, 'message_stop');

      const id = start.content_block.id;
      messages.push({ role: 'assistant', content: [{ type: 'tool_use', id, name: 'get_weather', input: { city } }] });
      messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: [{ type: 'text', text: 'sunny' }] }] });
      const stream = anthropic.messages.stream({ model: MODEL, max_tokens: 1024, tools: [WEATHER, TIME], messages });
      const final = await stream.finalMessage();
      assert.equal(textOf(final), 'Tool said: sunny');
      assert.equal(final.stop_reason, 'end_turn');
      assert.equal(resultText(upstreamResult(up, id).block), 'sunny');
    });

    test('parallel_tool_calls_come_in_one_response_and_one_follow_up_answers_all', T, async () => {
      const city = marker('Rome');
      const messages = [{ role: 'user', content: `Both ${call('get_weather', { city })} ${call('get_time', { tz: 'CET' })}` }];
      const first = await create(messages);
      const uses = first.content.filter((b) => b.type === 'tool_use');
      assert.deepEqual(uses.map((u) => [u.name, u.input]), [['get_weather', { city }], ['get_time', { tz: 'CET' }]]);
      assert.equal(first.stop_reason, 'tool_use');
      messages.push({ role: 'assistant', content: first.content });
      messages.push({ role: 'user', content: [
        { type: 'tool_result', tool_use_id: uses[0].id, content: 'warm' },
        { type: 'tool_result', tool_use_id: uses[1].id, content: 'noon' },
      ] });
      const second = await create(messages);
      assert.equal(textOf(second), 'Tool said: warm | noon');
      const a = upstreamResult(up, uses[0].id);
      const b = upstreamResult(up, uses[1].id);
      assert.equal(a.request, b.request, 'both results went up in one request');
      assert.deepEqual([resultText(a.block), resultText(b.block)], ['warm', 'noon']);
    });

    test('a_call_made_after_a_result_ends_the_next_response_too', T, async () => {
      const city = marker('Lund');
      const messages = [{ role: 'user', content: `Chain ${call('get_weather', { city })}` }];
      const first = await create(messages);
      const w = first.content.find((b) => b.type === 'tool_use');
      messages.push({ role: 'assistant', content: first.content });
      // The fake model reads this result as "now call get_time": the CLI turn goes on with a second call.
      messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: w.id, content: `mild ${call('get_time', { tz: 'CET' })}` }] });
      const events = await anthropicEvents(anthropic, { model: MODEL, max_tokens: 1024, tools: [WEATHER, TIME], messages });
      const start = events.find((e) => e.type === 'content_block_start' && e.content_block.type === 'tool_use');
      assert.equal(start.content_block.name, 'get_time');
      assert.equal(events.find((e) => e.type === 'message_delta').delta.stop_reason, 'tool_use');
      const t = start.content_block;
      messages.push({ role: 'assistant', content: [{ type: 'tool_use', id: t.id, name: 'get_time', input: { tz: 'CET' } }] });
      messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: t.id, content: '10:00' }] });
      const last = await create(messages);
      assert.equal(textOf(last), 'Tool said: 10:00');
      assert.equal(upstreamResult(up, t.id).request.body.messages.length, 5, 'one CLI turn: user, call, result, call, result');
    });

    test('error_and_image_results_reach_the_model', T, async () => {
      const city = marker('Bern');
      const messages = [{ role: 'user', content: `Two ${call('get_weather', { city })} ${call('get_time', { tz: 'UTC' })}` }];
      const first = await create(messages);
      const [w, t] = first.content.filter((b) => b.type === 'tool_use');
      messages.push({ role: 'assistant', content: first.content });
      messages.push({ role: 'user', content: [
        { type: 'tool_result', tool_use_id: w.id, is_error: true, content: 'weather service down' },
        { type: 'tool_result', tool_use_id: t.id, content: [
          { type: 'text', text: 'clock' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_B64 } },
        ] },
      ] });
      const second = await create(messages);
      assert.equal(textOf(second), 'Tool said: ERROR weather service down | clock');
      assert.equal(upstreamResult(up, w.id).block.is_error, true);
      const img = upstreamResult(up, t.id).block.content.find((b) => b.type === 'image');
      assert.ok(img, 'the image reached the model');
      assert.equal(img.source.data, PNG_B64);
    });

    test('tool_choice_none_offers_no_tools', T, async () => {
      const word = marker('plain');
      const msg = await create([{ role: 'user', content: `[[say:${word}]]` }], { tool_choice: { type: 'none' } });
      assert.equal(textOf(msg), word);
      assert.equal(msg.stop_reason, 'end_turn');
      const asked = upstreamAsked(up, word);
      assert.deepEqual((asked.body.tools ?? []).filter((t) => t.name.startsWith('mcp__')), []);
    });

    test('tool_choice_named_offers_that_tool_and_asks_for_it', T, async () => {
      const tz = marker('tz');
      const messages = [{ role: 'user', content: `Time ${call('get_time', { tz })}` }];
      const first = await create(messages, { tool_choice: { type: 'tool', name: 'get_time' } });
      const asked = upstreamAsked(up, tz);
      assert.deepEqual(asked.body.tools.map((t) => t.name).filter((n) => n.startsWith('mcp__')), ['mcp__client__get_time']);
      assert.match(JSON.stringify(asked.body.messages.at(-1)), /you must call the tool mcp__client__get_time/);
      const use = first.content.find((b) => b.type === 'tool_use');
      assert.equal(use.name, 'get_time');
      assert.deepEqual(use.input, { tz });
      messages.push({ role: 'assistant', content: first.content });
      messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '09:00' }] });
      assert.equal(textOf(await create(messages)), 'Tool said: 09:00');
    });

    test('tool_choice_any_and_no_parallel_are_asked_for', T, async () => {
      const word = marker('any');
      await create([{ role: 'user', content: `[[say:${word}]]` }], { tool_choice: { type: 'any', disable_parallel_tool_use: true } });
      const last = JSON.stringify(upstreamAsked(up, word).body.messages.at(-1));
      assert.match(last, /you must call at least one of the mcp__client__ tools/);
      assert.match(last, /Call at most one tool in this response/);
    });

    test('nested_schema_arrives_intact_and_nested_input_comes_back', T, async () => {
      const input = { trip: { legs: [{ from: 'A', to: marker('B'), stops: [1, 2] }], meta: { note: 'x' } }, tags: ['fast'] };
      const msg = await create([{ role: 'user', content: `Plan ${call('plan_trip', input)}` }], { tools: [TRIP] });
      const asked = upstreamAsked(up, input.trip.legs[0].to);
      const offered = asked.body.tools.find((t) => t.name === 'mcp__client__plan_trip');
      assert.deepEqual(offered.input_schema.properties, TRIP.input_schema.properties);
      assert.deepEqual(offered.input_schema.required, TRIP.input_schema.required);
      assert.equal(offered.description, TRIP.description);
      // api mode: the model gets the client's tools and nothing else.
      assert.deepEqual(asked.body.tools.map((t) => t.name), ['mcp__client__plan_trip']);
      assert.deepEqual(msg.content.find((b) => b.type === 'tool_use').input, input);
    });

    test('openai_agent_loop_not_streamed', T, async () => {
      const city = marker('Kyiv');
      const messages = [{ role: 'user', content: `Weather ${call('get_weather', { city })}` }];
      const tools = [asOpenAI(WEATHER), asOpenAI(TIME)];
      const first = await openai.chat.completions.create({ model: MODEL, tools, messages });
      const choice = first.choices[0];
      assert.equal(choice.finish_reason, 'tool_calls');
      assert.equal(choice.message.tool_calls.length, 1);
      const tc = choice.message.tool_calls[0];
      assert.equal(tc.type, 'function');
      assert.equal(tc.function.name, 'get_weather');
      assert.deepEqual(JSON.parse(tc.function.arguments), { city });
      assert.doesNotMatch(JSON.stringify(first), /mcp__/);

      messages.push(choice.message);
      messages.push({ role: 'tool', tool_call_id: tc.id, content: 'cold' });
      const second = await openai.chat.completions.create({ model: MODEL, tools, messages });
      assert.equal(second.choices[0].message.content, 'Tool said: cold');
      assert.equal(second.choices[0].finish_reason, 'stop');
      assert.equal(resultText(upstreamResult(up, tc.id).block), 'cold');

      messages.push(second.choices[0].message);
      messages.push({ role: 'user', content: '[[say:done]]' });
      const third = await openai.chat.completions.create({ model: MODEL, tools, messages });
      assert.equal(third.choices[0].message.content, 'done');
    });

    test('openai_agent_loop_streamed_with_parallel_calls', T, async () => {
      const city = marker('Quito');
      const messages = [{ role: 'user', content: `Both ${call('get_weather', { city })} ${call('get_time', { tz: 'ECT' })}` }];
      const tools = [asOpenAI(WEATHER), asOpenAI(TIME)];
      const first = await openaiStream(openai, { model: MODEL, tools, messages });
      assert.equal(first.finish, 'tool_calls');
      assert.doesNotMatch(JSON.stringify(first.chunks), /mcp__/);
      assert.deepEqual(first.calls.map((c) => [c.name, JSON.parse(c.arguments)]),
        [['get_weather', { city }], ['get_time', { tz: 'ECT' }]]);
      messages.push({ role: 'assistant', content: null,
        tool_calls: first.calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) });
      messages.push({ role: 'tool', tool_call_id: first.calls[0].id, content: 'rain' });
      messages.push({ role: 'tool', tool_call_id: first.calls[1].id, content: '8am' });
      const second = await openaiStream(openai, { model: MODEL, tools, messages });
      assert.equal(second.text, 'Tool said: rain | 8am');
      assert.equal(second.finish, 'stop');
      assert.equal(upstreamResult(up, first.calls[0].id).request, upstreamResult(up, first.calls[1].id).request);
    });

    test('openai_tool_choice_and_parallel_tool_calls_false', T, async () => {
      const tools = [asOpenAI(WEATHER), asOpenAI(TIME)];
      const w1 = marker('required');
      await openai.chat.completions.create({ model: MODEL, tools, tool_choice: 'required', parallel_tool_calls: false,
        messages: [{ role: 'user', content: `[[say:${w1}]]` }] });
      const last = JSON.stringify(upstreamAsked(up, w1).body.messages.at(-1));
      assert.match(last, /you must call at least one/);
      assert.match(last, /Call at most one tool in this response/);

      const tz = marker('tz');
      const named = await openai.chat.completions.create({ model: MODEL, tools,
        tool_choice: { type: 'function', function: { name: 'get_time' } },
        messages: [{ role: 'user', content: `Time ${call('get_time', { tz })}` }] });
      assert.equal(named.choices[0].message.tool_calls[0].function.name, 'get_time');
      assert.deepEqual(upstreamAsked(up, tz).body.tools.map((t) => t.name).filter((n) => n.startsWith('mcp__')),
        ['mcp__client__get_time']);

      const w2 = marker('none');
      const none = await openai.chat.completions.create({ model: MODEL, tools, tool_choice: 'none',
        messages: [{ role: 'user', content: `[[say:${w2}]]` }] });
      assert.equal(none.choices[0].message.content, w2);
      assert.deepEqual((upstreamAsked(up, w2).body.tools ?? []).filter((t) => t.name.startsWith('mcp__')), []);
    });

    test('follow_up_after_a_restart_is_served_from_the_history', T, async () => {
      const city = marker('Doha');
      const messages = [{ role: 'user', content: `Weather ${call('get_weather', { city })}` }];
      const first = await create(messages);
      const use = first.content.find((b) => b.type === 'tool_use');
      await stopClean(proxy);
      // The parked CLI was stopped, not left to answer its open call with an error and ask the model again.
      assert.equal(upstreamResult(up, use.id), null);
      proxy = await startProxy({ config, env: env() });
      anthropic = new Anthropic({ baseURL: proxy.url, apiKey: 'x', maxRetries: 0 });
      openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'x', maxRetries: 0 });

      messages.push({ role: 'assistant', content: first.content });
      messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'hot' }] });
      const second = await create(messages);
      assert.equal(textOf(second), 'Tool said: hot');
      // The new process got the whole history: the call under the model's name, then the result.
      const seen = upstreamResult(up, use.id);
      const msgs = seen.request.body.messages;
      const callAt = msgs.findIndex((m) => Array.isArray(m.content) && m.content.some((b) => b.type === 'tool_use' && b.id === use.id));
      assert.ok(callAt >= 0, 'the tool call is in the seeded history');
      assert.equal(msgs[callAt].content.find((b) => b.id === use.id).name, 'mcp__client__get_weather');
      assert.equal(msgs.indexOf(msgs.find((m) => m.content === seen.block || (Array.isArray(m.content) && m.content.includes(seen.block)))), callAt + 1);
      assert.equal(resultText(seen.block), 'hot');

      messages.push({ role: 'assistant', content: second.content });
      messages.push({ role: 'user', content: '[[say:after restart]]' });
      assert.equal(textOf(await create(messages)), 'after restart');
    });

    test('tool_choice_applies_to_a_follow_up_after_a_restart', T, async () => {
      const city = marker('Lima');
      const messages = [{ role: 'user', content: `Weather ${call('get_weather', { city })}` }];
      const first = await create(messages);
      const use = first.content.find((b) => b.type === 'tool_use');
      await stopClean(proxy);
      proxy = await startProxy({ config, env: env() });
      anthropic = new Anthropic({ baseURL: proxy.url, apiKey: 'x', maxRetries: 0 });
      openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'x', maxRetries: 0 });

      // No parked session: a new process is seeded with the history, and must still get the choice.
      const tz = marker('tz');
      messages.push({ role: 'assistant', content: first.content });
      // The result leads the fake model on to the next call (a model that does as it is told).
      messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: `hot ${call('get_time', { tz })}` }] });
      const second = await create(messages, { tool_choice: { type: 'tool', name: 'get_time' } });
      assert.ok(proxy.logEvents('session.spawn').some((e) => Number(e.seeded) > 0), 'served by a seeded process');
      const asked = upstreamResult(up, use.id).request.body;
      assert.deepEqual(asked.tools.map((t) => t.name).filter((n) => n.startsWith('mcp__')), ['mcp__client__get_time'],
        'only the named tool is offered');
      assert.match(JSON.stringify(asked.messages.at(-1)), /you must call the tool mcp__client__get_time/,
        'the instruction rides with the tool results');
      assert.equal(second.stop_reason, 'tool_use');
      const next = second.content.find((b) => b.type === 'tool_use');
      assert.equal(next.name, 'get_time');
      assert.deepEqual(next.input, { tz });

      messages.push({ role: 'assistant', content: second.content });
      messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: next.id, content: '10:00' }] });
      assert.equal(textOf(await create(messages)), 'Tool said: 10:00');
    });
  });
}

describe('client tools: lifetimes and modes', () => {
  let up;
  before(async () => { up = await startFakeUpstream(); });
  after(async () => { await up?.close(); });

  test('a_client_that_never_returns_is_released_after_toolResultTimeoutMs', T, async () => {
    const proxy = await startProxy({ config: { defaultModel: MODEL, toolResultTimeoutMs: 1500, maxSessions: 1 },
      env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test' } });
    try {
      const client = new Anthropic({ baseURL: proxy.url, apiKey: 'x', maxRetries: 0 });
      const city = marker('Nuuk');
      const messages = [{ role: 'user', content: `Weather ${call('get_weather', { city })}` }];
      const first = await client.messages.create({ model: MODEL, max_tokens: 100, tools: [WEATHER], messages });
      assert.equal(first.stop_reason, 'tool_use');
      assert.equal((await dashboard(proxy)).pool.waiting, 1);
      await proxy.until(async () => (await dashboard(proxy)).pool.live === 0);
      assert.equal(proxy.logEvents('session.tool_timeout').length, 1);
      const use = first.content.find((b) => b.type === 'tool_use');
      assert.equal(upstreamResult(up, use.id), null, 'the released CLI did not go on without the result');
      // The slot is free again (maxSessions 1), and a late follow-up is still answered (from the history).
      const other = await client.messages.create({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: '[[say:free]]' }] });
      assert.equal(textOf(other), 'free');
      messages.push({ role: 'assistant', content: first.content });
      messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'late' }] });
      const late = await client.messages.create({ model: MODEL, max_tokens: 100, tools: [WEATHER], messages });
      assert.equal(textOf(late), 'Tool said: late');
    } finally {
      await stopClean(proxy);
    }
  });

  test('agent_mode_offers_the_cli_tools_and_the_client_tools_together', T, async () => {
    const proxy = await startProxy({ config: { defaultModel: MODEL, mode: 'agent' },
      env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test' } });
    try {
      const client = new Anthropic({ baseURL: proxy.url, apiKey: 'x', maxRetries: 0 });
      const city = marker('Baku');
      const msg = await client.messages.create({ model: MODEL, max_tokens: 100, tools: [WEATHER],
        messages: [{ role: 'user', content: `Weather ${call('get_weather', { city })}` }] });
      const use = msg.content.find((b) => b.type === 'tool_use');
      assert.equal(use.name, 'get_weather');
      const names = upstreamAsked(up, city).body.tools.map((t) => t.name);
      assert.ok(names.includes('mcp__client__get_weather'));
      assert.ok(names.some((n) => !n.startsWith('mcp__')), `the CLI's own tools are offered too: ${names}`);
    } finally {
      await stopClean(proxy);
    }
  });
});
