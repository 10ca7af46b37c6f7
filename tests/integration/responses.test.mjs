// cli-matrix (stdio): ctest runs this file once per pinned CLI version that speaks stdio (2.1.197, 2.1.332).
// POST/GET/DELETE /v1/responses with the official openai SDK (responses.create / responses.stream), the real
// CLI (the default pinned version, over stdio) and the fake upstream.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startFakeUpstream } = await import(path.join(SOURCE_DIR, 'tests/fakes/fake-upstream.mjs'));
const { startProxy, stopChecked, STDIO_TEST_CLI } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));

const MODEL = 'claude-sonnet-4-5';
const T = { timeout: 120_000 };
const WEATHER = {
  type: 'function', name: 'get_weather', description: 'Weather of a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const PATCH = { type: 'custom', name: 'apply_patch', description: 'Apply a patch', format: { type: 'text' } };

// The client's words in an upstream message, without the CLI's <system-reminder> blocks.
function upstreamText(msg) {
  const blocks = typeof msg.content === 'string' ? [{ type: 'text', text: msg.content }] : msg.content;
  return blocks.filter((b) => b.type === 'text')
    .map((b) => b.text.replace(/<system-reminder>[\s\S]*?<\/system-reminder>/g, '').trim()).filter(Boolean).join('\n');
}

async function collect(stream) {
  const events = [];
  for await (const ev of stream) events.push(ev);
  return events;
}

describe('responses api', { skip: !fs.existsSync(STDIO_TEST_CLI) && 'the pinned CLI is not installed' }, () => {
  let up;
  let proxy;
  let client;
  const create = (input, extra = {}) => client.responses.create({ model: MODEL, input, ...extra });

  before(async () => {
    up = await startFakeUpstream();
    proxy = await startProxy({
      config: { defaultModel: MODEL, modelAliases: { 'gpt-5': MODEL } },
      env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test', CLAUDE_CODE_MAX_RETRIES: '0' },
    });
    client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'x', maxRetries: 0 });
  });

  after(async () => {
    await up?.close();
    if (proxy) await stopChecked(proxy);
  });

  test('create_answers_a_response_object_that_get_and_delete_see', T, async () => {
    const res = await create('[[say:RS_PLAIN]]', { model: 'gpt-5', instructions: 'Be brief.', metadata: { k: 'v' } });
    assert.equal(res.object, 'response');
    assert.match(res.id, /^resp_/);
    assert.equal(res.status, 'completed');
    assert.equal(res.model, 'gpt-5');
    assert.equal(res.output_text, 'RS_PLAIN');
    assert.equal(res.output[0].type, 'message');
    assert.equal(res.output[0].role, 'assistant');
    assert.deepEqual(res.output[0].content.map((p) => p.type), ['output_text']);
    assert.deepEqual(res.metadata, { k: 'v' });
    // The fake upstream's usage: input 11 + cache read 3 + cache creation 2.
    assert.equal(res.usage.input_tokens, 16);
    assert.equal(res.usage.input_tokens_details.cached_tokens, 3);
    assert.ok(res.usage.output_tokens > 0);
    assert.equal(res.usage.total_tokens, res.usage.input_tokens + res.usage.output_tokens);
    assert.equal(res.usage.output_tokens_details.reasoning_tokens, 0);
    const system = up.lastTurn().body.system;
    assert.ok(JSON.stringify(system).includes('Be brief.'), 'instructions reach the system prompt');

    const got = await client.responses.retrieve(res.id);
    assert.equal(got.id, res.id);
    assert.equal(got.output[0].content[0].text, 'RS_PLAIN');
    const del = await client.responses.delete(res.id);
    assert.deepEqual(del, { id: res.id, object: 'response', deleted: true });
    await assert.rejects(client.responses.retrieve(res.id), (err) => err instanceof OpenAI.NotFoundError);
  });

  test('stream_sends_the_full_event_sequence_numbered', T, async () => {
    const stream = client.responses.stream({ model: MODEL, input: '[[say:streamed words here]]' });
    const events = await collect(stream);
    const final = await stream.finalResponse();
    assert.deepEqual([...new Set(events.map((e) => e.type))], [
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
      'response.output_text.delta', 'response.output_text.done', 'response.content_part.done',
      'response.output_item.done', 'response.completed',
    ]);
    assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i));
    assert.ok(events.filter((e) => e.type === 'response.output_text.delta').length > 1, 'text arrives in several deltas');
    assert.equal(final.output_text, 'streamed words here');
    assert.equal(events.at(-1).response.usage.input_tokens, 16);
    assert.equal((await client.responses.retrieve(final.id)).output_text, 'streamed words here');
  });

  test('function_call_round_trip_answers_the_waiting_cli', T, async () => {
    // As Codex does: store false, the whole history re-sent with the call and its output.
    const input = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: '[[tool:get_weather:{"city":"Paris"}]]' }] }];
    const first = await create(input, { tools: [WEATHER, { type: 'web_search' }], store: false });
    const call = first.output.find((o) => o.type === 'function_call');
    assert.ok(call, JSON.stringify(first.output));
    assert.equal(call.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris' });
    assert.match(call.call_id, /^toolu_/);
    await assert.rejects(client.responses.retrieve(first.id), (err) => err instanceof OpenAI.NotFoundError, 'store:false keeps nothing');

    const answered = proxy.logEvents('session.tool_results').length;
    const second = await create([...input, call, { type: 'function_call_output', call_id: call.call_id, output: 'sunny' }],
      { tools: [WEATHER], store: false });
    assert.equal(second.output_text, 'Tool said: sunny');
    const results = proxy.logEvents('session.tool_results');
    assert.equal(results.length, answered + 1);
    assert.equal(results.at(-1).answered, '1');
  });

  test('parallel_function_calls_are_answered_together', T, async () => {
    const input = [{ role: 'user', content: '[[tool:get_weather:{"city":"Rome"}]][[tool:get_weather:{"city":"Lima"}]]' }];
    const first = await create(input, { tools: [WEATHER], store: false });
    const calls = first.output.filter((o) => o.type === 'function_call');
    assert.deepEqual(calls.map((c) => JSON.parse(c.arguments).city), ['Rome', 'Lima']);
    const outputs = calls.map((c, i) => ({ type: 'function_call_output', call_id: c.call_id, output: i ? 'dry' : 'warm' }));
    const second = await create([...input, ...first.output, ...outputs], { tools: [WEATHER], store: false });
    assert.equal(second.output_text, 'Tool said: warm | dry');
    assert.equal(proxy.logEvents('session.tool_results').at(-1).answered, '2');
  });

  test('streamed_function_call_and_previous_response_id_follow_up', T, async () => {
    const stream = client.responses.stream({ model: MODEL, tools: [WEATHER], input: '[[tool:get_weather:{"city":"Oslo"}]]' });
    const events = await collect(stream);
    const first = await stream.finalResponse();
    const types = events.map((e) => e.type);
    assert.ok(types.includes('response.function_call_arguments.delta'), types.join());
    const done = events.find((e) => e.type === 'response.function_call_arguments.done');
    assert.deepEqual(JSON.parse(done.arguments), { city: 'Oslo' });
    const call = first.output.find((o) => o.type === 'function_call');
    assert.equal(call.arguments, done.arguments);

    const follow = client.responses.stream({
      model: MODEL, tools: [WEATHER], previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'snow' }],
    });
    await collect(follow);
    const second = await follow.finalResponse();
    assert.equal(second.output_text, 'Tool said: snow');
    assert.equal(second.previous_response_id, first.id);
    assert.equal(proxy.logEvents('session.tool_results').at(-1).answered, '1');
  });

  test('previous_response_id_continues_the_conversation', T, async () => {
    const first = await create('[[say:FIRST_ANSWER]] remember the word plum');
    const second = await create('[[echo]] what was the word', { previous_response_id: first.id });
    assert.equal(second.output_text, 'what was the word');
    const msgs = up.lastTurn().body.messages;
    const texts = msgs.map(upstreamText).join('\n');
    assert.ok(texts.includes('remember the word plum'), texts);
    assert.ok(texts.includes('FIRST_ANSWER'), texts);
  });

  test('resent_history_goes_to_the_session_that_holds_it', T, async () => {
    // Codex does not use previous_response_id: it re-sends the whole conversation, output items included.
    const user = (text) => ({ type: 'message', role: 'user', content: [{ type: 'input_text', text }] });
    const first = await create([user('[[say:ONE]] codex style')], { store: false });
    const firstTurn = proxy.logEvents('session.turn').at(-1);
    const second = await create([user('[[say:ONE]] codex style'), ...first.output, user('[[echo]] and then')], { store: false });
    assert.equal(second.output_text, 'and then');
    const secondTurn = proxy.logEvents('session.turn').at(-1);
    assert.equal(secondTurn.session, firstTurn.session);
    assert.equal(secondTurn.reused, '1');
  });

  test('input_image_reaches_upstream_as_an_image_block', T, async () => {
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
    const res = await create([{ role: 'user', content: [
      { type: 'input_text', text: '[[say:SEEN]]' },
      { type: 'input_image', image_url: `data:image/png;base64,${png}`, detail: 'auto' },
    ] }]);
    assert.equal(res.output_text, 'SEEN');
    const image = up.lastTurn().body.messages.at(-1).content.find((b) => b.type === 'image');
    assert.equal(image.source.media_type, 'image/png');
    assert.equal(image.source.data, png);
  });

  test('custom_tool_call_carries_one_string_and_round_trips', T, async () => {
    const first = await create('[[tool:apply_patch:{"input":"*** Begin Patch\\n*** End Patch"}]]', { tools: [PATCH] });
    const call = first.output.find((o) => o.type === 'custom_tool_call');
    assert.ok(call, JSON.stringify(first.output));
    assert.equal(call.name, 'apply_patch');
    assert.equal(call.input, '*** Begin Patch\n*** End Patch');
    const offered = up.lastTurn().body.tools.find((t) => t.name.endsWith('apply_patch'));
    assert.equal(offered.input_schema.properties.input.type, 'string');
    const second = await create([{ type: 'custom_tool_call_output', call_id: call.call_id, output: 'patched' }],
      { tools: [PATCH], previous_response_id: first.id });
    assert.equal(second.output_text, 'Tool said: patched');
  });

  test('text_format_json_schema_answers_json', T, async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' }, n: { type: 'integer' } }, required: ['city', 'n'] };
    const res = await create('give me json', { text: { format: { type: 'json_schema', name: 'place', schema } } });
    assert.deepEqual(JSON.parse(res.output_text), { city: 'sample', n: 1 });
    assert.equal(res.text.format.type, 'json_schema');
  });

  test('reasoning_effort_gives_a_reasoning_item', T, async () => {
    const res = await create('[[thinking]][[say:THOUGHT]]', { reasoning: { effort: 'medium', summary: 'auto' } });
    assert.deepEqual(res.output.map((o) => o.type), ['reasoning', 'message']);
    assert.equal(res.output[0].summary[0].text, 'Let me think about this.');
    assert.equal(res.output_text, 'THOUGHT');
  });

  test('max_output_tokens_gives_an_incomplete_response', T, async () => {
    const events = await collect(client.responses.stream({ model: MODEL, input: '[[long:400]]', max_output_tokens: 10 }));
    const last = events.at(-1);
    assert.equal(last.type, 'response.incomplete');
    assert.equal(last.response.status, 'incomplete');
    assert.deepEqual(last.response.incomplete_details, { reason: 'max_output_tokens' });
  });

  test('failure_after_the_stream_began_is_an_error_event_then_response_failed', T, async () => {
    const res = await fetch(`${proxy.url}/v1/responses`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, stream: true, input: '[[fail_mid:2]]' }),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    const datas = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
    const types = datas.map((d) => d.type);
    assert.deepEqual(types.slice(-2), ['error', 'response.failed'], types.join());
    assert.equal(datas.at(-1).response.status, 'failed');
    assert.ok(datas.at(-1).response.error.message);
    assert.deepEqual(datas.map((d) => d.sequence_number), datas.map((_, i) => i));
  });

  test('errors_name_the_responses_field', T, async () => {
    const bad = async (body, param) => {
      const res = await fetch(`${proxy.url}/v1/responses`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, ...body }),
      });
      const json = await res.json();
      assert.equal(json.error?.param, param, JSON.stringify(json));
      assert.equal(json.error.type, 'invalid_request_error');
      return res.status;
    };
    assert.equal(await bad({}, 'input'), 400);
    assert.equal(await bad({ input: 'hi', tools: [WEATHER, { type: 'bogus' }] }, 'tools[1].type'), 400);
    assert.equal(await bad({ input: [{ type: 'message', role: 'robot', content: 'x' }] }, 'input[0].role'), 400);
    assert.equal(await bad({ input: [{ type: 'message', role: 'user', content: [{ type: 'input_image', image_url: 'data:image/tiff;base64,AAAA' }] }] },
      'input[0].content[0]'), 400);
    assert.equal(await bad({ input: 'hi', max_output_tokens: 'many' }, 'max_output_tokens'), 400);
    assert.equal(await bad({ input: 'hi', previous_response_id: 'resp_nope' }, 'previous_response_id'), 404);
    await assert.rejects(create('hi', { text: { format: { type: 'xml' } } }),
      (err) => err instanceof OpenAI.BadRequestError && err.param === 'text.format.type');
  });
});
