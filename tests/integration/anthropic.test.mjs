// POST /v1/messages and /v1/messages/count_tokens with the official Anthropic SDK, the real CLI (2.1.197)
// and the fake upstream. Raw HTTP where the SDK would hide what we pin (SSE framing, validation bodies).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startFakeUpstream } = await import(path.join(SOURCE_DIR, 'tests/fakes/fake-upstream.mjs'));
const { startProxy } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));

const CLAUDE = path.join(SOURCE_DIR, '.deps/claude-2.1.197/node_modules/.bin/claude');
const MODEL = 'claude-sonnet-4-5';
// 1x1 transparent PNG.
const PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const T = { timeout: 120_000 };

let up;
let proxy;
let client;

before(async () => {
  up = await startFakeUpstream();
  proxy = await startProxy({
    config: { claudePath: CLAUDE, defaultModel: MODEL, pingIntervalMs: 150 },
    // CLAUDE_CODE_MAX_RETRIES: the CLI would otherwise retry a 529 for minutes before giving up.
    env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test', CLAUDE_CODE_MAX_RETRIES: '0' },
  });
  client = new Anthropic({ baseURL: proxy.url, apiKey: 'x', maxRetries: 0 });
});

after(async () => {
  await proxy?.stop?.();
  await up?.close();
});

const user = (content) => [{ role: 'user', content }];
const ask = (content, extra = {}) => client.messages.create({ model: MODEL, max_tokens: 1024, messages: user(content), ...extra });
const textOf = (msg) => msg.content.filter((b) => b.type === 'text').map((b) => b.text).join('');

// The client's words in an upstream message, without the CLI's <system-reminder> blocks.
function upstreamText(msg) {
  const blocks = typeof msg.content === 'string' ? [{ type: 'text', text: msg.content }] : msg.content;
  return blocks
    .filter((b) => b.type === 'text')
    .map((b) => b.text.replace(/<system-reminder>[\s\S]*?<\/system-reminder>/g, '').trim())
    .filter(Boolean)
    .join('\n');
}

function proxyLog() {
  if (typeof proxy.logs === 'function') return proxy.logs();
  if (typeof proxy.output === 'function') return proxy.output();
  return String(proxy.log ?? proxy.stderr ?? '');
}

// POST with node's http: status, headers and the raw body, plus each SSE frame as it arrived.
function post(pathname, body, { onFrame, raw } = {}) {
  return new Promise((resolve, reject) => {
    const url = new URL(pathname, proxy.url);
    const data = raw ?? JSON.stringify(body);
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'x' } }, (res) => {
      let text = '';
      const frames = [];
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
        let i;
        while ((i = text.indexOf('\n\n', frames.consumed ?? 0)) >= 0) {
          const frame = parseFrame(text.slice(frames.consumed ?? 0, i));
          frames.consumed = i + 2;
          frames.push(frame);
          onFrame?.(frame, req);
        }
      });
      const done = (aborted) => resolve({ status: res.statusCode, headers: res.headers, text, frames, aborted });
      res.on('end', () => done(false));
      res.on('error', () => done(true));
      res.on('close', () => done(!res.complete));
    });
    req.on('error', (err) => (err.code === 'ECONNRESET' ? resolve({ aborted: true }) : reject(err)));
    req.end(data);
  });
}

function parseFrame(chunk) {
  const frame = { event: null, data: null };
  for (const line of chunk.split('\n')) {
    if (line.startsWith('event: ')) frame.event = line.slice(7);
    else if (line.startsWith('data: ')) frame.data = JSON.parse(line.slice(6));
  }
  return frame;
}

test('create_returns_a_whole_message', T, async () => {
  const msg = await ask('hi');
  assert.match(msg.id, /^msg_/);
  assert.equal(msg.type, 'message');
  assert.equal(msg.role, 'assistant');
  assert.equal(msg.model, MODEL);
  assert.deepEqual(msg.content, [{ type: 'text', text: 'Hello from the fake upstream.' }]);
  assert.equal(msg.stop_reason, 'end_turn');
  assert.equal(msg.stop_sequence, null);
  assert.ok(msg.usage.input_tokens > 0);
  assert.ok(msg.usage.output_tokens > 0);
  assert.equal(typeof msg.usage.cache_read_input_tokens, 'number');
  assert.equal(typeof msg.usage.cache_creation_input_tokens, 'number');
  assert.equal(up.lastTurn().body.model, MODEL);
});

test('create_stream_yields_the_event_sequence', T, async () => {
  const stream = await ask('hi', { stream: true });
  const events = [];
  for await (const ev of stream) events.push(ev);
  const types = events.map((e) => e.type).filter((t) => t !== 'ping');
  assert.equal(types[0], 'message_start');
  assert.equal(types.at(-1), 'message_stop');
  assert.equal(types.at(-2), 'message_delta');
  const start = events[0].message;
  assert.equal(start.usage.cache_read_input_tokens, 3, 'cache counts from upstream reach message_start');
  assert.equal(start.usage.cache_creation_input_tokens, 2);
  const text = events.filter((e) => e.type === 'content_block_delta').map((e) => e.delta.text).join('');
  assert.equal(text, 'Hello from the fake upstream.');
  assert.equal(events.find((e) => e.type === 'message_delta').delta.stop_reason, 'end_turn');
});

test('messages_stream_final_message_and_text_events', T, async () => {
  const pieces = [];
  const stream = client.messages.stream({ model: MODEL, max_tokens: 1024, messages: user('[[say:alpha beta gamma delta]]') });
  stream.on('text', (t) => pieces.push(t));
  const msg = await stream.finalMessage();
  assert.equal(textOf(msg), 'alpha beta gamma delta');
  assert.ok(pieces.length >= 2, 'text arrived in several deltas');
  assert.equal(pieces.join(''), 'alpha beta gamma delta');
  assert.equal(msg.stop_reason, 'end_turn');
});

test('history_reaches_upstream_as_alternating_turns', T, async () => {
  const msg = await client.messages.create({
    model: MODEL,
    max_tokens: 1024,
    messages: [
      { role: 'user', content: 'My name is Ada.' },
      { role: 'assistant', content: 'Nice to meet you, Ada.' },
      { role: 'user', content: [{ type: 'text', text: '[[echo]] What is my name?' }] },
    ],
  });
  assert.equal(textOf(msg), 'What is my name?');
  const sent = up.lastTurn().body.messages;
  assert.deepEqual(sent.slice(-3).map((m) => m.role), ['user', 'assistant', 'user']);
  assert.equal(upstreamText(sent.at(-3)), 'My name is Ada.');
  assert.equal(upstreamText(sent.at(-2)), 'Nice to meet you, Ada.');
  assert.match(upstreamText(sent.at(-1)), /What is my name\?/);
});

test('system_prompt_replaces_claude_codes_own', T, async () => {
  const marker = `You are a pirate named Zorblax-${Date.now()}.`;
  await ask('hi', { system: marker });
  const system = JSON.stringify(up.lastTurn().body.system);
  assert.ok(system.includes(marker), 'the client system prompt reached upstream');
  assert.ok(!system.includes('You are Claude Code'), "Claude Code's own system prompt is gone");
});

test('image_arrives_upstream_as_an_image_block', T, async () => {
  const msg = await ask([
    { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_B64 } },
    { type: 'text', text: 'What is in this picture?' },
  ]);
  assert.equal(msg.stop_reason, 'end_turn');
  const last = up.lastTurn().body.messages.at(-1);
  assert.equal(last.role, 'user');
  const image = last.content.find((b) => b.type === 'image');
  assert.ok(image, 'an image block went upstream');
  assert.equal(image.source.type, 'base64');
  assert.equal(image.source.media_type, 'image/png');
  assert.equal(image.source.data, PNG_B64);
});

test('stop_sequence_cuts_the_answer', T, async () => {
  const msg = await ask('[[say:one two STOP three]]', { stop_sequences: ['STOP'] });
  assert.equal(textOf(msg), 'one two ');
  assert.equal(msg.stop_reason, 'stop_sequence');
  assert.equal(msg.stop_sequence, 'STOP');

  const streamed = await client.messages
    .stream({ model: MODEL, max_tokens: 1024, messages: user('[[say:one two STOP three]]'), stop_sequences: ['STOP'] })
    .finalMessage();
  assert.equal(textOf(streamed), 'one two ');
  assert.equal(streamed.stop_reason, 'stop_sequence');
  assert.equal(streamed.stop_sequence, 'STOP');
});

test('max_tokens_cuts_the_answer', T, async () => {
  const msg = await ask('[[long:400]]', { max_tokens: 20 });
  assert.equal(msg.stop_reason, 'max_tokens');
  const words = textOf(msg).trim().split(/\s+/);
  assert.ok(words.length < 400, `got ${words.length} words`);
  assert.equal(words[0], 'w1');
});

async function rejects(promise, Class, status) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof Class, `expected ${Class.name}, got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.status, status);
    return err;
  }
  assert.fail(`expected ${Class.name}`);
}

test('upstream_errors_keep_their_status_and_type', T, async () => {
  let err = await rejects(ask('[[error:401]]'), Anthropic.AuthenticationError, 401);
  assert.equal(err.error.error.type, 'authentication_error');

  err = await rejects(ask('[[error:429]]'), Anthropic.RateLimitError, 429);
  assert.equal(err.error.error.type, 'rate_limit_error');
  assert.ok(Number(err.headers.get('retry-after')) > 0, 'retry-after is passed on');

  err = await rejects(ask('[[error:529]]'), Anthropic.APIError, 529);
  assert.equal(err.error.error.type, 'overloaded_error');

  err = await rejects(ask('[[error:500]]'), Anthropic.InternalServerError, 500);
  assert.equal(err.error.error.type, 'api_error');

  err = await rejects(ask('[[error:404]]'), Anthropic.NotFoundError, 404);
  assert.equal(err.error.error.type, 'not_found_error');

  const words = 'Third-party apps now draw from your extra usage, not your plan limits';
  err = await rejects(ask(`[[error:400:${words}]]`), Anthropic.BadRequestError, 400);
  assert.equal(err.error.error.type, 'invalid_request_error');
  assert.equal(err.error.error.message, words);
});

test('stream_failing_before_its_first_event_is_a_real_status', T, async () => {
  await rejects(ask('[[error:401]]', { stream: true }), Anthropic.AuthenticationError, 401);
  const res = await post('/v1/messages', { model: MODEL, max_tokens: 100, stream: true, messages: user('[[error:429]]') });
  assert.equal(res.status, 429);
  assert.match(res.headers['content-type'], /application\/json/);
  assert.equal(JSON.parse(res.text).error.type, 'rate_limit_error');
});

test('raw_sse_frames_match_the_real_api', T, async () => {
  const res = await post('/v1/messages', {
    model: MODEL, max_tokens: 1024, stream: true, messages: user('[[slow:400]] [[say:tick tock]]'),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'], /^text\/event-stream/);
  assert.ok(res.text.endsWith('\n\n'));
  for (const f of res.frames) {
    assert.ok(f.event, 'every frame has an event: line');
    assert.equal(f.event, f.data.type, 'event name matches data.type');
  }
  const pings = res.frames.filter((f) => f.event === 'ping');
  assert.ok(pings.length >= 1, 'pings keep a slow stream alive');
  assert.deepEqual(pings[0].data, { type: 'ping' });
  const seq = res.frames.filter((f) => f.event !== 'ping');
  assert.equal(seq[0].event, 'message_start');
  assert.equal(seq[1].event, 'content_block_start');
  assert.equal(seq[1].data.index, 0, 'block indexes start at 0');
  assert.equal(seq.at(-2).event, 'message_delta');
  assert.equal(seq.at(-1).event, 'message_stop');
  // Each block: start, deltas, stop, with one index.
  let open = null;
  for (const f of seq.slice(1, -2)) {
    if (f.event === 'content_block_start') { assert.equal(open, null); open = f.data.index; }
    else if (f.event === 'content_block_delta') assert.equal(f.data.index, open);
    else if (f.event === 'content_block_stop') { assert.equal(f.data.index, open); open = null; }
    else assert.fail(`unexpected ${f.event} inside the message`);
  }
  assert.equal(open, null);
  const text = seq.filter((f) => f.event === 'content_block_delta').map((f) => f.data.delta.text).join('');
  assert.equal(text, 'tick tock');
});

test('client_abort_interrupts_the_turn', T, async () => {
  const before = proxyLog().length;
  const res = await post(
    '/v1/messages',
    { model: MODEL, max_tokens: 1024, stream: true, messages: user('[[slow:200]] [[long:60]]') },
    { onFrame: (f, req) => { if (f.event === 'content_block_delta') req.destroy(); } },
  );
  assert.ok(res.aborted || res.frames.length < 20, 'the client left early');
  // The proxy notices and interrupts the CLI; wait for its log line.
  const deadline = Date.now() + 20_000;
  while (!/turn_client_abort|interrupt/.test(proxyLog().slice(before)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(proxyLog().slice(before), /turn_client_abort|interrupt/);
  // And the proxy still answers.
  const msg = await ask('[[say:still here]]');
  assert.equal(textOf(msg), 'still here');
});

test('thinking_blocks_keep_their_signature', T, async () => {
  const params = { model: MODEL, max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2000 }, messages: user('[[thinking]] hi') };
  const msg = await client.messages.create(params);
  const thinking = msg.content.find((b) => b.type === 'thinking');
  assert.ok(thinking, 'a thinking block came back');
  assert.equal(thinking.signature, 'sig_fake_0123456789');
  assert.equal(thinking.thinking, 'Let me think about this.');
  assert.equal(textOf(msg), 'Hello from the fake upstream.');

  const streamed = await client.messages.stream(params).finalMessage();
  const st = streamed.content.find((b) => b.type === 'thinking');
  assert.equal(st.signature, 'sig_fake_0123456789');
  assert.equal(st.thinking, 'Let me think about this.');
});

test('count_tokens_grows_and_counts_images_and_tools', T, async () => {
  const count = (body) => client.messages.countTokens({ model: MODEL, ...body });
  const short = await count({ messages: user('hello') });
  const long = await count({ messages: user('hello '.repeat(500)) });
  assert.ok(short.input_tokens > 0);
  assert.ok(long.input_tokens > short.input_tokens + 400, `${long.input_tokens} vs ${short.input_tokens}`);
  const withImage = await count({
    messages: user([
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_B64 } },
      { type: 'text', text: 'hello' },
    ]),
  });
  assert.ok(withImage.input_tokens >= short.input_tokens + 1000, 'an image costs its fixed amount');
  const withTools = await count({
    messages: user('hello'),
    tools: [{ name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
  });
  assert.ok(withTools.input_tokens > short.input_tokens, 'tool definitions count');
  const withSystem = await count({ system: 'You are a helpful assistant who answers briefly.', messages: user('hello') });
  assert.ok(withSystem.input_tokens > short.input_tokens);
  // Validated like /v1/messages, but max_tokens is not needed.
  const bad = await post('/v1/messages/count_tokens', { model: MODEL, messages: [] });
  assert.equal(bad.status, 400);
  assert.equal(JSON.parse(bad.text).error.message, 'messages: at least one message is required');
});

test('invalid_requests_get_400_naming_the_field', T, async () => {
  const cases = [
    [{ model: MODEL, messages: user('hi') }, 'max_tokens: Field required'],
    [{ model: MODEL, max_tokens: 10 }, 'messages: Field required'],
    [{ model: MODEL, max_tokens: 10, messages: [] }, 'messages: at least one message is required'],
    [{ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'a' }, { role: 'robot', content: 'b' }, { role: 'user', content: 'c' }] },
      "messages.1.role: Input should be 'user' or 'assistant'"],
    [{ model: MODEL, max_tokens: 'ten', messages: user('hi') }, 'max_tokens: Input should be a valid integer'],
    [{ model: MODEL, max_tokens: 10, stream: 'yes', messages: user('hi') }, 'stream: Input should be a valid boolean'],
    [{ model: MODEL, max_tokens: 10, messages: user([{ type: 'text' }]) }, 'messages.0.content.0.text: Field required'],
    [{ model: MODEL, max_tokens: 10, messages: user('hi'), tools: [{ name: 'x', input_schema: { type: 'object' } }] },
      'tools are not supported yet'],
  ];
  for (const [body, message] of cases) {
    const res = await post('/v1/messages', body);
    assert.equal(res.status, 400, message);
    const err = JSON.parse(res.text);
    assert.equal(err.type, 'error');
    assert.equal(err.error.type, 'invalid_request_error');
    assert.equal(err.error.message, message);
  }
  const prefill = await post('/v1/messages', {
    model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }],
  });
  assert.equal(prefill.status, 400);
  assert.match(JSON.parse(prefill.text).error.message, /must end with a user message/);
  const garbage = await post('/v1/messages', null, { raw: '{"model": ' });
  assert.equal(garbage.status, 400);
  assert.match(JSON.parse(garbage.text).error.message, /^body is not valid JSON: /);
  // The SDK sees these as BadRequestError.
  await rejects(client.messages.create({ model: MODEL, max_tokens: 10, messages: [] }), Anthropic.BadRequestError, 400);
});
