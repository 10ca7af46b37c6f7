// POST /v1/chat/completions with the official openai SDK, the real CLI and the fake upstream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import OpenAI from 'openai';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startFakeUpstream } = await import(path.join(SOURCE_DIR, 'tests/fakes/fake-upstream.mjs'));
const { startProxy } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));

const CLAUDE = path.join(SOURCE_DIR, '.deps/claude-2.1.197/node_modules/.bin/claude');
// 1x1 transparent PNG.
const PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

let up;
let proxy;
let client;

before(async () => {
  up = await startFakeUpstream();
  proxy = await startProxy({
    config: {
      claudePath: CLAUDE,
      defaultModel: 'claude-sonnet-4-5',
      modelAliases: { 'gpt-4o': 'claude-sonnet-4-5' },
      pingIntervalMs: 150,
    },
    env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test' },
  });
  client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'x', maxRetries: 0 });
});

after(async () => {
  await proxy?.stop?.();
  await up?.close();
});

const user = (content) => [{ role: 'user', content }];

// The text of an upstream message, without the CLI's <system-reminder> blocks.
function upstreamText(msg) {
  const blocks = typeof msg.content === 'string' ? [{ type: 'text', text: msg.content }] : msg.content;
  return blocks
    .filter((b) => b.type === 'text')
    .map((b) => b.text.replace(/<system-reminder>[\s\S]*?<\/system-reminder>/g, '').trim())
    .filter(Boolean)
    .join('\n');
}

test('create_returns_a_chat_completion', async () => {
  const res = await client.chat.completions.create({ model: 'gpt-4o', messages: user('hi') });
  assert.equal(res.object, 'chat.completion');
  assert.match(res.id, /^chatcmpl-/);
  assert.equal(res.model, 'gpt-4o', 'the requested model name is echoed');
  assert.equal(res.choices.length, 1);
  assert.equal(res.choices[0].message.role, 'assistant');
  assert.equal(res.choices[0].message.content, 'Hello from the fake upstream.');
  assert.equal(res.choices[0].finish_reason, 'stop');
  assert.ok(res.usage.prompt_tokens > 0);
  assert.ok(res.usage.completion_tokens > 0);
  assert.equal(res.usage.total_tokens, res.usage.prompt_tokens + res.usage.completion_tokens);
  assert.equal(up.lastTurn().body.model, 'claude-sonnet-4-5', 'the alias reached upstream resolved');
});

test('create_stream_yields_chunks_in_order', async () => {
  const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: user('hi'), stream: true });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.ok(chunks.length >= 3);
  assert.equal(chunks[0].object, 'chat.completion.chunk');
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'one id for the whole stream');
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  assert.equal(text, 'Hello from the fake upstream.');
  const last = chunks.at(-1);
  assert.equal(last.choices[0].finish_reason, 'stop');
  assert.deepEqual(last.choices[0].delta, {});
  assert.ok(chunks.every((c) => c.usage === undefined), 'no usage chunk unless asked');
});

test('stream_include_usage_ends_with_a_usage_chunk', async () => {
  const stream = await client.chat.completions.create({
    model: 'gpt-4o', messages: user('hi'), stream: true, stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.ok(last.usage.prompt_tokens > 0);
  assert.ok(last.usage.completion_tokens > 0);
  assert.equal(chunks.at(-2).choices[0].finish_reason, 'stop');
});

test('stream_helper_gives_final_chat_completion', async () => {
  const runner = client.chat.completions.stream({ model: 'gpt-4o', messages: user('[[say:Streamed by the helper.]]') });
  let deltas = '';
  runner.on('content', (delta) => { deltas += delta; });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].message.content, 'Streamed by the helper.');
  assert.equal(final.choices[0].finish_reason, 'stop');
  assert.equal(deltas, 'Streamed by the helper.');
});

test('multi_turn_history_arrives_upstream_as_real_turns', async () => {
  const first = await client.chat.completions.create({ model: 'gpt-4o', messages: user('[[say:First answer.]] question one') });
  const answer = first.choices[0].message.content;
  assert.equal(answer, 'First answer.');
  const second = await client.chat.completions.create({
    model: 'gpt-4o',
    messages: [
      { role: 'user', content: '[[say:First answer.]] question one' },
      { role: 'assistant', content: answer },
      { role: 'user', content: '[[echo]] question two' },
    ],
  });
  assert.equal(second.choices[0].message.content, 'question two');
  const msgs = up.lastTurn().body.messages;
  assert.ok(msgs.length >= 3);
  msgs.forEach((m, i) => assert.equal(m.role, i % 2 === 0 ? 'user' : 'assistant', `message ${i} alternates`));
  assert.match(upstreamText(msgs.at(-3)), /question one/);
  assert.equal(upstreamText(msgs.at(-2)), 'First answer.');
  assert.match(upstreamText(msgs.at(-1)), /question two/);
});

test('system_and_developer_messages_reach_the_system_prompt', async () => {
  await client.chat.completions.create({
    model: 'gpt-4o',
    messages: [
      { role: 'system', content: 'SYSTEM-RULE-ONE' },
      { role: 'developer', content: 'DEVELOPER-RULE-TWO' },
      { role: 'user', content: 'hi' },
    ],
  });
  const system = up.lastTurn().body.system;
  const text = typeof system === 'string' ? system : system.map((b) => b.text).join('\n');
  const one = text.indexOf('SYSTEM-RULE-ONE');
  const two = text.indexOf('DEVELOPER-RULE-TWO');
  assert.ok(one >= 0 && two > one, 'both, in order');
});

test('image_data_url_arrives_as_an_image_block', async () => {
  const res = await client.chat.completions.create({
    model: 'gpt-4o',
    messages: user([
      { type: 'text', text: 'what is this?' },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_B64}` } },
    ]),
  });
  assert.equal(res.choices[0].finish_reason, 'stop');
  const last = up.lastTurn().body.messages.at(-1);
  const image = last.content.find((b) => b.type === 'image');
  assert.ok(image, 'an image block upstream');
  assert.deepEqual(image.source, { type: 'base64', media_type: 'image/png', data: PNG_B64 });
});

test('response_format_json_schema_gives_parseable_json', async () => {
  const schema = {
    type: 'object',
    properties: { name: { type: 'string' }, age: { type: 'integer' } },
    required: ['name', 'age'],
    additionalProperties: false,
  };
  const res = await client.chat.completions.create({
    model: 'gpt-4o',
    messages: user('Describe a person.'),
    response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
  });
  const parsed = JSON.parse(res.choices[0].message.content);
  assert.equal(typeof parsed.name, 'string');
  assert.equal(typeof parsed.age, 'number');
  assert.equal(res.choices[0].finish_reason, 'stop');
  const offered = up.lastTurn().body.tools || [];
  assert.ok(offered.some((t) => t.name === 'StructuredOutput'), 'the CLI offered its structured-output tool');
});

test('response_format_json_schema_streams_parseable_json', async () => {
  const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
  const runner = client.chat.completions.stream({
    model: 'gpt-4o',
    messages: user('A city, please.'),
    response_format: { type: 'json_schema', json_schema: { name: 'city', schema } },
  });
  const final = await runner.finalChatCompletion();
  assert.deepEqual(JSON.parse(final.choices[0].message.content), { city: 'sample' });
});

test('stop_sequence_cuts_the_answer', async () => {
  const res = await client.chat.completions.create({
    model: 'gpt-4o', messages: user('[[say:alpha beta HALT gamma]]'), stop: ['HALT'],
  });
  assert.equal(res.choices[0].message.content.trim(), 'alpha beta');
  assert.equal(res.choices[0].finish_reason, 'stop');
});

test('max_tokens_gives_finish_reason_length', async () => {
  const res = await client.chat.completions.create({ model: 'gpt-4o', messages: user('[[long:400]]'), max_tokens: 10 });
  assert.equal(res.choices[0].finish_reason, 'length');
  assert.ok(res.choices[0].message.content.split(' ').length < 400);
});

test('max_completion_tokens_streamed_gives_finish_reason_length', async () => {
  const stream = await client.chat.completions.create({
    model: 'gpt-4o', messages: user('[[long:400]]'), max_completion_tokens: 10, stream: true,
  });
  let finish = null;
  for await (const chunk of stream) finish = chunk.choices[0]?.finish_reason ?? finish;
  assert.equal(finish, 'length');
});

test('n_other_than_one_is_rejected_naming_n', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-4o', messages: user('hi'), n: 2 }),
    (err) => err instanceof OpenAI.BadRequestError && err.status === 400 && err.param === 'n' &&
      err.type === 'invalid_request_error',
  );
});

test('validation_errors_name_the_field', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-4o', messages: [] }),
    (err) => err.status === 400 && err.param === 'messages',
  );
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'wizard', content: 'x' }] }),
    (err) => err.status === 400 && err.param === 'messages[0].role',
  );
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }),
    (err) => err.status === 400 && err.param === 'messages',
  );
  const raw = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"messages": [',
  });
  assert.equal(raw.status, 400);
  const body = await raw.json();
  assert.equal(body.error.type, 'invalid_request_error');
});

test('tools_are_refused_clearly_for_now', async () => {
  await assert.rejects(
    client.chat.completions.create({
      model: 'gpt-4o', messages: user('weather?'),
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }],
    }),
    (err) => err.status === 400 && /tools are not supported yet/.test(err.message) && err.param === 'tools',
  );
});

const errorCases = [
  [401, OpenAI.AuthenticationError],
  [404, OpenAI.NotFoundError],
  [429, OpenAI.RateLimitError],
  [500, OpenAI.InternalServerError],
];
for (const [status, ErrorClass] of errorCases) {
  test(`upstream_${status}_maps_to_${ErrorClass.name}`, async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4o', messages: user(`[[error:${status}]]`) }),
      (err) => err instanceof ErrorClass && err.status === status && typeof err.error?.message === 'string',
    );
  });
}

test('upstream_error_on_a_stream_is_an_http_error', async () => {
  await assert.rejects(
    (async () => {
      const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: user('[[error:401]]'), stream: true });
      for await (const chunk of stream) void chunk;
    })(),
    (err) => err instanceof OpenAI.AuthenticationError,
  );
});

test('slow_stream_gets_keepalive_pings', async () => {
  const res = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: user('[[slow:600]] [[say:tick tock]]') }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /text\/event-stream/);
  const text = await res.text();
  assert.match(text, /^: ping$/m);
  assert.match(text, /data: \[DONE\]\n\n$/);
});

test('client_disconnect_mid_stream_leaves_the_proxy_healthy', async () => {
  const stream = await client.chat.completions.create({
    model: 'gpt-4o', messages: user('[[slow:150]] [[long:60]]'), stream: true,
  });
  let seen = 0;
  for await (const chunk of stream) {
    if (chunk.choices[0]?.delta?.content) seen++;
    if (seen === 2) break; // the SDK aborts the request
  }
  assert.equal(seen, 2);
  const res = await client.chat.completions.create({ model: 'gpt-4o', messages: user('[[say:still here]]') });
  assert.equal(res.choices[0].message.content, 'still here');
});

test('models_list_and_retrieve_are_read_by_the_sdk', async () => {
  const ids = [];
  for await (const model of client.models.list()) ids.push(model.id);
  assert.ok(ids.length > 0);
  const one = await client.models.retrieve(ids[0]);
  assert.equal(one.id, ids[0]);
});
