// cli-matrix: ctest runs this file once per CLI version (CLAUDE_TEST_CLI_VERSION).
// POST /v1/messages and /v1/messages/count_tokens with the official Anthropic SDK, the real CLI and the fake
// upstream — once per pinned CLI version: 2.1.100 over WebSocket (--sdk-url), 2.1.197 and 2.1.332 over stdio. Raw HTTP
// where the SDK would hide what we pin (SSE framing, validation bodies). The CLI reaches the fake upstream
// through a relay that shows whether an upstream exchange was abandoned (the CLI's turn interrupted).
// Client tools are tested by the client-tools suite, not here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startFakeUpstream } = await import(path.join(SOURCE_DIR, 'tests/fakes/fake-upstream.mjs'));
const { startProxy, TEST_CLIS } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));
const { startUpstreamRelay } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/upstream-relay.mjs'));

const MODEL = 'claude-sonnet-4-6';
// 1x1 transparent PNG.
const PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const T = { timeout: 120_000 };
// One entry per CLI version this run tests (lib/cli-versions.mjs): 2.1.100 over WebSocket, the others over stdio.
const TRANSPORTS = TEST_CLIS;
// What a subscription account's upstream answers carry; the CLI turns them into rate_limit_event.
const RATE_LIMIT_HEADERS = {
  'anthropic-ratelimit-unified-status': 'allowed_warning',
  'anthropic-ratelimit-unified-reset': '1900000000',
  'anthropic-ratelimit-unified-representative-claim': 'five_hour',
  'anthropic-ratelimit-unified-5h-utilization': '0.95',
  'anthropic-ratelimit-unified-5h-reset': '1900000000',
  'anthropic-ratelimit-unified-5h-surpassed-threshold': '0.9',
};

const user = (content) => [{ role: 'user', content }];
const textOf = (msg) => msg.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
let markerSeq = 0;
const marker = (name) => `${name}-${process.pid}-${++markerSeq}`;

// The client's words in an upstream message, without the CLI's <system-reminder> blocks.
function upstreamText(msg) {
  const blocks = typeof msg.content === 'string' ? [{ type: 'text', text: msg.content }] : msg.content;
  return blocks
    .filter((b) => b.type === 'text')
    .map((b) => b.text.replace(/<system-reminder>[\s\S]*?<\/system-reminder>/g, '').trim())
    .filter(Boolean)
    .join('\n');
}

// POST with node's http: status, headers and the raw body, plus each SSE frame as it arrived.
function post(proxy, pathname, body, { onFrame, raw } = {}) {
  return new Promise((resolve, reject) => {
    const data = raw ?? JSON.stringify(body);
    const headers = { 'content-type': 'application/json', 'x-api-key': 'x' };
    const req = http.request(new URL(pathname, proxy.url), { method: 'POST', headers }, (res) => {
      let text = '';
      let consumed = 0;
      const frames = [];
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
        let i;
        while ((i = text.indexOf('\n\n', consumed)) >= 0) {
          const frame = parseFrame(text.slice(consumed, i));
          consumed = i + 2;
          frames.push(frame);
          onFrame?.(frame, req);
        }
      });
      const done = (aborted) => resolve({ status: res.statusCode, headers: res.headers, text, frames, aborted });
      res.on('end', () => done(false));
      res.on('close', () => done(!res.complete));
    });
    req.on('error', (err) => (err.code === 'ECONNRESET' ? resolve({ aborted: true, frames: [] }) : reject(err)));
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

// Turns the CLI reported interrupted (or failed) and the proxy is done with: the session took the turn
// back (session.rewound: 2.1.197 for a follow-up, 2.1.332 for any turn) or was closed for it.
const settledTurns = (proxy, reason) => proxy.logEvents('session.close').filter((e) => e.reason === reason).length
  + proxy.logEvents('session.rewound').length;
const interruptedCloses = (proxy) => settledTurns(proxy, 'turn interrupted');

async function stopClean(proxy) {
  const r = await proxy.stop();
  assert.equal(r.code, 0, `proxy exit ${JSON.stringify(r)}\n${proxy.logs().slice(-3000)}`);
  assert.deepEqual(proxy.sanitizerReports(), []);
  proxy.cleanup();
}

for (const { transport, cli, version } of TRANSPORTS) {
  const skip = !fs.existsSync(cli) && `claude ${version} not installed`;
  describe(`anthropic messages over ${transport} (CLI ${version})`, { skip }, () => {
    let up;
    let relay;
    let proxy;
    let client;
    const config = { claudePath: cli, transport, defaultModel: MODEL, pingIntervalMs: 150 };
    const ask = (content, extra = {}) =>
      client.messages.create({ model: MODEL, max_tokens: 1024, messages: user(content), ...extra });

    before(async () => {
      up = await startFakeUpstream();
      relay = await startUpstreamRelay(up.url);
      proxy = await startProxy({
        config,
        // CLAUDE_CODE_MAX_RETRIES: the CLI would otherwise retry a 529 for minutes before giving up.
        env: { ANTHROPIC_BASE_URL: relay.url, ANTHROPIC_API_KEY: 'sk-test', CLAUDE_CODE_MAX_RETRIES: '0' },
      });
      client = new Anthropic({ baseURL: proxy.url, apiKey: 'x', maxRetries: 0 });
    });

    after(async () => {
      if (proxy) await stopClean(proxy);
      await relay?.close();
      await up?.close();
    });

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
      assert.equal(msg.usage.cache_read_input_tokens, 3, 'cache counts from upstream reach the body');
      assert.equal(msg.usage.cache_creation_input_tokens, 2);
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
      const delta = events.find((e) => e.type === 'message_delta');
      assert.equal(delta.delta.stop_reason, 'end_turn');
      assert.ok(delta.usage.output_tokens > 0);
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
      assert.equal(msg.usage.cache_read_input_tokens, 3);
    });

    test('history_reaches_upstream_as_alternating_turns', T, async () => {
      const msg = await client.messages.create({
        model: MODEL,
        max_tokens: 1024,
        messages: [
          { role: 'user', content: 'My name is Ada.' },
          { role: 'assistant', content: 'Nice to meet you, Ada.' },
          { role: 'user', content: 'I live in London.' },
          { role: 'assistant', content: [{ type: 'text', text: 'London is lovely.' }] },
          { role: 'user', content: [{ type: 'text', text: '[[echo]] What is my name?' }] },
        ],
      });
      assert.equal(textOf(msg), 'What is my name?');
      const sent = up.lastTurn().body.messages;
      assert.deepEqual(sent.map((m) => m.role), ['user', 'assistant', 'user', 'assistant', 'user']);
      assert.deepEqual(sent.slice(0, 4).map(upstreamText), ['My name is Ada.', 'Nice to meet you, Ada.', 'I live in London.', 'London is lovely.']);
      assert.match(upstreamText(sent.at(-1)), /What is my name\?/);
    });

    test('system_prompt_replaces_claude_codes_own', T, async () => {
      const system = `You are a pirate named Zorblax-${marker('sys')}.`;
      await ask('hi', { system });
      const sent = JSON.stringify(up.lastTurn().body.system);
      assert.ok(sent.includes(system), 'the client system prompt reached upstream');
      assert.ok(!sent.includes('You are Claude Code'), "Claude Code's own system prompt is gone");
      // System text blocks are joined into the one prompt the CLI takes.
      const blocks = [{ type: 'text', text: 'First rule: be brief.' }, { type: 'text', text: `Second rule: ${marker('sys')}.` }];
      await ask('hi', { system: blocks });
      const sent2 = JSON.stringify(up.lastTurn().body.system);
      assert.ok(sent2.includes('First rule: be brief.') && sent2.includes(blocks[1].text));
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

    test('stop_sequence_cuts_the_answer_and_interrupts_the_turn', T, async () => {
      // Slow enough that the cut comes long before the upstream answer would end.
      const tail = Array.from({ length: 30 }, (_, i) => `t${i}`).join(' ');
      const closes = interruptedCloses(proxy);
      const m1 = marker('stopseq');
      const msg = await ask(`[[slow:100]] [[say:one two STOP three ${tail}]] ${m1}`, { stop_sequences: ['NEVER', 'STOP'] });
      assert.equal(textOf(msg), 'one two ');
      assert.equal(msg.stop_reason, 'stop_sequence');
      assert.equal(msg.stop_sequence, 'STOP');
      assert.ok(msg.usage.output_tokens <= 3, `output_tokens ${msg.usage.output_tokens}`);
      await proxy.until(() => relay.find(m1).some((e) => e.abandoned), 30_000);
      await proxy.until(() => interruptedCloses(proxy) > closes, 30_000);

      const m2 = marker('stopseq');
      const events = [];
      const stream = client.messages.stream({
        model: MODEL, max_tokens: 1024, messages: user(`[[slow:100]] [[say:one two STOP three ${tail}]] ${m2}`), stop_sequences: ['STOP'],
      });
      stream.on('streamEvent', (e) => events.push(e));
      const streamed = await stream.finalMessage();
      assert.equal(textOf(streamed), 'one two ');
      assert.equal(streamed.stop_reason, 'stop_sequence');
      assert.equal(streamed.stop_sequence, 'STOP');
      const streamedText = events.filter((e) => e.type === 'content_block_delta').map((e) => e.delta.text).join('');
      assert.equal(streamedText, 'one two ', 'no byte of the stop sequence was streamed');
      assert.equal(events.find((e) => e.type === 'message_delta').delta.stop_sequence, 'STOP');
      await proxy.until(() => relay.find(m2).some((e) => e.abandoned), 30_000);
    });

    test('max_tokens_is_never_exceeded', T, async () => {
      const msg = await ask('[[long:400]]', { max_tokens: 20 });
      assert.equal(msg.stop_reason, 'max_tokens');
      assert.ok(msg.usage.output_tokens <= 20, `output_tokens ${msg.usage.output_tokens}`);
      const text = textOf(msg);
      // The estimate behind the cut: 4 characters per token.
      assert.ok(text.length > 0 && text.length <= 80, `${text.length} characters`);
      assert.ok(text.startsWith('w1 w2'));

      const streamed = await client.messages.stream({ model: MODEL, max_tokens: 10, messages: user('[[long:400]]') }).finalMessage();
      assert.equal(streamed.stop_reason, 'max_tokens');
      assert.ok(streamed.usage.output_tokens <= 10);
      assert.ok(textOf(streamed).length <= 40);

      const roomy = await ask('[[say:short answer]]', { max_tokens: 100 });
      assert.equal(roomy.stop_reason, 'end_turn', 'an answer within the budget is not cut');
      assert.equal(textOf(roomy), 'short answer');
    });

    test('thinking_blocks_keep_their_signature', T, async () => {
      const params = { model: MODEL, max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2000 }, messages: user('[[thinking]] hi') };
      const msg = await client.messages.create(params);
      assert.deepEqual(msg.content.map((b) => b.type), ['thinking', 'text']);
      const thinking = msg.content[0];
      assert.equal(thinking.signature, 'sig_fake_0123456789');
      assert.equal(thinking.thinking, 'Let me think about this.');
      assert.equal(textOf(msg), 'Hello from the fake upstream.');

      const events = [];
      const stream = client.messages.stream(params);
      stream.on('streamEvent', (e) => events.push(e));
      const streamed = await stream.finalMessage();
      const st = streamed.content.find((b) => b.type === 'thinking');
      assert.equal(st.signature, 'sig_fake_0123456789');
      assert.equal(st.thinking, 'Let me think about this.');
      const deltas = events.filter((e) => e.type === 'content_block_delta').map((e) => `${e.index}:${e.delta.type}`);
      assert.ok(deltas.includes('0:thinking_delta') && deltas.includes('0:signature_delta') && deltas.includes('1:text_delta'), deltas.join());
    });

    test('thinking_setting_reaches_upstream_turn_by_turn', T, async () => {
      // claude-sonnet-4-5 takes a thinking budget (the CLI keeps models with adaptive thinking adaptive).
      const model = 'claude-sonnet-4-5';
      const create = (messages, thinking) => client.messages.create({ model, max_tokens: 4000, messages, ...(thinking && { thinking }) });
      const upstreamThinking = () => up.lastTurn().body.thinking;
      // Like the real API, no thinking unless asked (2.1.100 leaves the field out, 2.1.197 says so).
      await create(user(`[[say:plain]] ${marker('default')}`));
      const unasked = upstreamThinking();
      assert.ok(unasked === undefined || unasked.type === 'disabled', `thinking not asked for: ${JSON.stringify(unasked)}`);

      // One conversation, three turns on one process: budget, off, then adaptive (the CLI's own default).
      const messages = user(`[[say:one]] ${marker('thinking')}`);
      let reply = await create(messages, { type: 'enabled', budget_tokens: 2000 });
      assert.deepEqual(upstreamThinking(), { type: 'enabled', budget_tokens: 2000 });
      messages.push({ role: 'assistant', content: reply.content }, { role: 'user', content: '[[say:two]]' });
      reply = await create(messages, { type: 'disabled' });
      assert.equal(textOf(reply), 'two');
      const off = upstreamThinking(); // 2.1.100 leaves the field out, 2.1.197 says so
      assert.ok(off === undefined || off.type === 'disabled', `thinking off: ${JSON.stringify(off)}`);
      messages.push({ role: 'assistant', content: reply.content }, { role: 'user', content: '[[say:three]]' });
      await create(messages, { type: 'adaptive' });
      const byDefault = upstreamThinking();
      assert.ok(['enabled', 'adaptive'].includes(byDefault?.type), `the CLI's default: ${JSON.stringify(byDefault)}`);
      const turns = proxy.logEvents('session.turn').slice(-3);
      assert.ok(turns.every((t) => t.session === turns[0].session), JSON.stringify(turns));
      assert.deepEqual(turns.map((t) => t.reused), ['0', '1', '1']);
      const told = proxy.logEvents('session.thinking').filter((e) => e.session === turns[0].session);
      assert.deepEqual(told.map((e) => e.max_thinking_tokens), ['2000', '0', '-1']);
    });

    test('upstream_errors_keep_their_status_and_type', T, async () => {
      let err = await rejects(ask('[[error:401]]'), Anthropic.AuthenticationError, 401);
      assert.equal(err.error.type, 'error');
      assert.equal(err.error.error.type, 'authentication_error');

      err = await rejects(ask('[[error:429]]'), Anthropic.RateLimitError, 429);
      assert.equal(err.error.error.type, 'rate_limit_error');
      assert.ok(Number(err.headers.get('retry-after')) > 0, 'a 429 says when to retry');

      err = await rejects(ask('[[error:529]]'), Anthropic.APIError, 529);
      assert.equal(err.error.error.type, 'overloaded_error');

      err = await rejects(ask('[[error:500]]'), Anthropic.InternalServerError, 500);
      assert.equal(err.error.error.type, 'api_error');

      err = await rejects(ask('[[error:404]]', { model: 'claude-no-such-model' }), Anthropic.NotFoundError, 404);
      assert.equal(err.error.error.type, 'not_found_error');
      assert.equal(up.lastTurn().body.model, 'claude-no-such-model', 'the model id went upstream unchanged');
    });

    test('upstream_words_reach_the_client_verbatim', T, async () => {
      const words = 'Third-party apps now draw from your extra usage, not your plan limits';
      const err = await rejects(ask(`[[error:400:${words}]]`), Anthropic.BadRequestError, 400);
      assert.equal(err.error.error.type, 'invalid_request_error');
      assert.equal(err.error.error.message, words);
    });

    test('stream_failing_before_its_first_event_is_a_real_status', T, async () => {
      await rejects(ask('[[error:401]]', { stream: true }), Anthropic.AuthenticationError, 401);
      const res = await post(proxy, '/v1/messages', { model: MODEL, max_tokens: 100, stream: true, messages: user('[[error:429]]') });
      assert.equal(res.status, 429);
      assert.match(res.headers['content-type'], /application\/json/);
      assert.ok(Number(res.headers['retry-after']) > 0);
      assert.equal(JSON.parse(res.text).error.type, 'rate_limit_error');
    });

    test('raw_sse_frames_match_the_real_api', T, async () => {
      const res = await post(proxy, '/v1/messages', {
        model: MODEL, max_tokens: 1024, stream: true, messages: user('[[slow:400]] [[say:tick tock]]'),
      });
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type'], /^text\/event-stream/);
      assert.match(res.headers['cache-control'], /no-cache/);
      assert.ok(res.headers['request-id'], 'a request-id header');
      assert.ok(res.text.endsWith('\n\n'));
      for (const f of res.frames) {
        assert.ok(f.event, 'every frame has an event: line');
        assert.equal(f.event, f.data.type, 'event name matches data.type');
      }
      assert.equal(res.frames[0].event, 'message_start', 'nothing comes before message_start');
      const pings = res.frames.filter((f) => f.event === 'ping');
      assert.ok(pings.length >= 1, 'pings keep a slow stream alive');
      assert.deepEqual(pings[0].data, { type: 'ping' });
      const seq = res.frames.filter((f) => f.event !== 'ping');
      assert.equal(seq[0].data.message.role, 'assistant');
      assert.deepEqual(seq[0].data.message.content, []);
      assert.equal(seq[1].event, 'content_block_start');
      assert.equal(seq[1].data.index, 0, 'block indexes start at 0');
      assert.deepEqual(seq[1].data.content_block, { type: 'text', text: '' });
      assert.equal(seq.at(-2).event, 'message_delta');
      assert.equal(seq.at(-2).data.delta.stop_reason, 'end_turn');
      assert.equal(seq.at(-1).event, 'message_stop');
      // Each block: start, deltas, stop, with one index; indexes count up from 0.
      let open = null;
      let next = 0;
      for (const f of seq.slice(1, -2)) {
        if (f.event === 'content_block_start') { assert.equal(open, null); assert.equal(f.data.index, next++); open = f.data.index; }
        else if (f.event === 'content_block_delta') assert.equal(f.data.index, open);
        else if (f.event === 'content_block_stop') { assert.equal(f.data.index, open); open = null; }
        else assert.fail(`unexpected ${f.event} inside the message`);
      }
      assert.equal(open, null);
      const text = seq.filter((f) => f.event === 'content_block_delta').map((f) => f.data.delta.text).join('');
      assert.equal(text, 'tick tock');
    });

    test('client_abort_interrupts_the_turn', T, async () => {
      const closes = interruptedCloses(proxy);
      const aborts = proxy.logEvents('turn.client_abort').length;
      const m = marker('abort');
      const res = await post(
        proxy,
        '/v1/messages',
        { model: MODEL, max_tokens: 1024, stream: true, messages: user(`[[slow:200]] [[long:60]] ${m}`) },
        { onFrame: (f, req) => { if (f.event === 'content_block_delta') req.destroy(); } },
      );
      assert.ok(res.aborted, 'the client left early');
      // The proxy notices, interrupts the CLI, and the CLI gives up its upstream request.
      await proxy.until(() => proxy.logEvents('turn.client_abort').length > aborts, 30_000);
      await proxy.until(() => relay.find(m).some((e) => e.abandoned), 30_000);
      await proxy.until(() => interruptedCloses(proxy) > closes, 30_000);
      assert.ok(!relay.find(m).some((e) => e.finished), 'the upstream answer was not read to its end');
      // And the proxy still answers.
      const msg = await ask('[[say:still here]]');
      assert.equal(textOf(msg), 'still here');
    });

    // The upstream fails after its stream began ([[fail_mid:N]]: N text deltas, then `event: error`
    // overloaded_error; [[drop_mid:N]]: the connection dies). The CLI (retries off) gives up on the turn.
    test('failure_after_the_stream_began_ends_it_with_an_error_event', T, async () => {
      const closes = settledTurns(proxy, 'turn failed');
      const prompt = `[[fail_mid:3]] ${marker('failmid')}`;
      const res = await post(proxy, '/v1/messages', { model: MODEL, max_tokens: 1024, stream: true, messages: user(prompt) });
      assert.equal(res.status, 200, 'the stream had begun: the status is already sent');
      assert.ok(!res.aborted, 'the stream ends cleanly, not with a reset');
      assert.ok(res.text.endsWith('\n\n'));
      const seq = res.frames.filter((f) => f.event !== 'ping');
      for (const f of seq) assert.equal(f.event, f.data.type, 'event name matches data.type');
      assert.equal(seq[0].event, 'message_start');
      const text = seq.filter((f) => f.event === 'content_block_delta').map((f) => f.data.delta.text).join('');
      assert.equal(text, 'm1 m2 m3 m4 m5 m6 ', 'the deltas streamed before the failure reach the client');
      const last = seq.at(-1);
      assert.equal(last.event, 'error', `last frame: ${JSON.stringify(last)}`);
      assert.equal(last.data.error.type, 'overloaded_error');
      assert.match(last.data.error.message, /fake upstream overloaded mid-stream/, 'the upstream words its own error');
      assert.ok(!seq.some((f) => f.event === 'message_stop' || f.event === 'message_delta'), 'the message does not end as if it succeeded');
      // The CLI holds a failed exchange: the proxy has it taken back, or discards that session.
      await proxy.until(() => settledTurns(proxy, 'turn failed') > closes, 30_000);

      // The official SDK turns the error event into an APIError of that type, after the text it streamed.
      const pieces = [];
      let caught = null;
      try {
        const stream = await ask(`[[fail_mid:2]] ${marker('failmid')}`, { stream: true });
        for await (const ev of stream) if (ev.type === 'content_block_delta') pieces.push(ev.delta.text);
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof Anthropic.APIError, `expected APIError, got ${caught}`);
      assert.equal(caught.type, 'overloaded_error');
      assert.equal(caught.error.error.type, 'overloaded_error');
      assert.equal(pieces.join(''), 'm1 m2 m3 m4 ');

      // The conversation goes on: the client sends it back with what it got, and the upstream sees it all.
      const msg = await client.messages.create({
        model: MODEL, max_tokens: 1024,
        messages: [...user(prompt), { role: 'assistant', content: text }, ...user('[[say:after the failure]]')],
      });
      assert.equal(textOf(msg), 'after the failure');
      const sent = up.lastTurn().body.messages;
      assert.deepEqual(sent.map((m) => m.role), ['user', 'assistant', 'user']);
      assert.equal(upstreamText(sent[0]), prompt);
      assert.equal(upstreamText(sent[1]), text.trim());
    });

    test('connection_lost_after_the_stream_began_ends_it_with_an_error_event', T, async () => {
      // The connection drops once the client holds the first words (held: not as they travel).
      let seen = '';
      const res = await post(proxy, '/v1/messages', {
        model: MODEL, max_tokens: 1024, stream: true, messages: user(`[[drop_mid:2:held]] ${marker('dropmid')}`),
      }, { onFrame: (f) => {
        if (f.event === 'content_block_delta') seen += f.data.delta.text;
        if (seen === 'm1 m2 m3 m4 ') up.dropHeld();
      } });
      assert.equal(res.status, 200);
      assert.ok(!res.aborted);
      const seq = res.frames.filter((f) => f.event !== 'ping');
      const text = seq.filter((f) => f.event === 'content_block_delta').map((f) => f.data.delta.text).join('');
      assert.equal(text, 'm1 m2 m3 m4 ');
      const last = seq.at(-1);
      assert.equal(last.event, 'error', `last frame: ${JSON.stringify(last)}`);
      assert.equal(last.data.type, 'error');
      assert.equal(last.data.error.type, 'api_error');
      assert.match(last.data.error.message, /ECONNRESET|connect/i, 'the CLI\'s own account of the failure');
      assert.equal(textOf(await ask('[[say:still fine]]')), 'still fine');
    });

    // After a broken stream the CLI asks again without streaming; when that succeeds, its whole answer only
    // comes as the CLI's assistant line (a new message id, no stream events) and a result line whose usage
    // leaves it out. The client gets that answer whole; a stream that already sent the first words goes on
    // with the rest of the same block.
    test('an_answer_retried_after_a_broken_stream_is_not_cut_short', T, async () => {
      const whole = Array.from({ length: 23 }, (_, k) => `m${k + 1} `).join('');
      const prompt = () => `[[fail_mid:3:retry_ok]] ${marker('retry')}`;
      const turns = up.turns().length;
      const msg = await ask(prompt());
      assert.deepEqual(up.turns().slice(turns).map((r) => !!r.body.stream), [true, false], 'a broken stream, then the retry');
      assert.equal(textOf(msg), whole, 'a whole answer, not the broken stream\'s first words');
      assert.equal(msg.content.length, 1);
      assert.equal(msg.stop_reason, 'end_turn');
      // The fake upstream's counts for the retried answer (the CLI's result line says 0).
      assert.equal(msg.usage.input_tokens, 11);
      assert.equal(msg.usage.output_tokens, 14);
      assert.equal(msg.usage.cache_creation_input_tokens, 2);
      assert.equal(msg.usage.cache_read_input_tokens, 3);

      const res = await post(proxy, '/v1/messages', { model: MODEL, max_tokens: 1024, stream: true, messages: user(prompt()) });
      assert.equal(res.status, 200);
      const seq = res.frames.filter((f) => f.event !== 'ping');
      for (const f of seq) assert.equal(f.event, f.data.type, 'event name matches data.type');
      const deltas = seq.filter((f) => f.event === 'content_block_delta');
      assert.equal(deltas.map((f) => f.data.delta.text).join(''), whole);
      assert.equal(deltas.slice(0, 3).map((f) => f.data.delta.text).join(''), 'm1 m2 m3 m4 m5 m6 ', 'the broken stream\'s words came first');
      assert.ok(deltas.every((f) => f.data.index === 0), 'the retried text continues the open block');
      assert.deepEqual(seq.map((f) => f.event).filter((e) => e !== 'content_block_delta'),
        ['message_start', 'content_block_start', 'content_block_stop', 'message_delta', 'message_stop']);
      const end = seq.find((f) => f.event === 'message_delta').data;
      assert.equal(end.delta.stop_reason, 'end_turn');
      assert.equal(end.usage.output_tokens, 14);

      // The SDK assembles the same whole message from the stream.
      const final = await client.messages.stream({ model: MODEL, max_tokens: 1024, messages: user(prompt()) }).finalMessage();
      assert.equal(textOf(final), whole);
      assert.equal(final.stop_reason, 'end_turn');

      // The retried text goes through the same stop_sequences and max_tokens rules as streamed text.
      const stopped = await ask(prompt(), { stop_sequences: ['m9 '] });
      assert.equal(textOf(stopped), 'm1 m2 m3 m4 m5 m6 m7 m8 ');
      assert.equal(stopped.stop_reason, 'stop_sequence');
      assert.equal(stopped.stop_sequence, 'm9 ');
      const short = await ask(prompt(), { max_tokens: 6 }); // 24 characters
      assert.equal(textOf(short), whole.slice(0, 24));
      assert.equal(short.stop_reason, 'max_tokens');
      assert.equal(textOf(await ask('[[say:after the retries]]')), 'after the retries');
    });

    test('count_tokens_grows_and_counts_images_and_tools', T, async () => {
      const turns = up.turns().length;
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
      const tool = { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } };
      const withTool = await count({ messages: user('hello'), tools: [tool] });
      assert.ok(withTool.input_tokens > short.input_tokens, 'tool definitions count');
      const withTwoTools = await count({ messages: user('hello'), tools: [tool, { ...tool, name: 'get_time', description: 'Time in a city' }] });
      assert.ok(withTwoTools.input_tokens > withTool.input_tokens, 'each tool counts');
      const withSystem = await count({ system: 'You are a helpful assistant who answers briefly.', messages: user('hello') });
      assert.ok(withSystem.input_tokens > short.input_tokens);
      const history = await count({ messages: [...user('hello'), { role: 'assistant', content: 'Hi there!' }, ...user('hello')] });
      assert.ok(history.input_tokens > short.input_tokens, 'earlier turns count');
      // Validated like /v1/messages, but max_tokens is not needed; no turn runs.
      const bad = await post(proxy, '/v1/messages/count_tokens', { model: MODEL, messages: [] });
      assert.equal(bad.status, 400);
      assert.equal(JSON.parse(bad.text).error.message, 'messages: at least one message is required');
      assert.equal(up.turns().length, turns, 'counting never asks the model');
    });

    test('invalid_requests_get_400_naming_the_field', T, async () => {
      const turns = up.turns().length;
      const ok = { model: MODEL, max_tokens: 10, messages: user('hi') };
      const cases = [
        [{ model: MODEL, messages: user('hi') }, 'max_tokens: Field required'],
        [{ model: MODEL, max_tokens: 10 }, 'messages: Field required'],
        [{ ...ok, messages: [] }, 'messages: at least one message is required'],
        [{ ...ok, messages: { role: 'user', content: 'hi' } }, 'messages: Input should be a valid list'],
        [{ ...ok, messages: [{ role: 'user', content: 'a' }, { role: 'robot', content: 'b' }, { role: 'user', content: 'c' }] },
          "messages.1.role: Input should be 'user' or 'assistant'"],
        [{ ...ok, messages: [{ content: 'a' }] }, 'messages.0.role: Field required'],
        [{ ...ok, messages: [{ role: 'assistant', content: 'a' }, { role: 'user', content: 'b' }] },
          'messages.0.role: the first message must use the "user" role'],
        [{ ...ok, messages: [{ role: 'user', content: 42 }] }, 'messages.0.content: Input should be a valid string or list'],
        [{ ...ok, messages: [{ role: 'user', content: [] }] }, 'messages.0: all messages must have non-empty content'],
        [{ ...ok, messages: user([{ type: 'text' }]) }, 'messages.0.content.0.text: Field required'],
        [{ ...ok, messages: user([{ type: 'image', source: { type: 'base64', media_type: 'image/bmp', data: 'AA==' } }]) },
          "messages.0.content.0.source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"],
        [{ ...ok, max_tokens: 'ten' }, 'max_tokens: Input should be a valid integer'],
        [{ ...ok, max_tokens: 0 }, 'max_tokens: Input should be greater than or equal to 1'],
        [{ ...ok, stream: 'yes' }, 'stream: Input should be a valid boolean'],
        [{ ...ok, model: 42 }, 'model: Input should be a valid string'],
        [{ ...ok, system: 42 }, 'system: Input should be a valid string or list'],
        [{ ...ok, stop_sequences: [1] }, 'stop_sequences.0: Input should be a valid string'],
        [{ ...ok, temperature: 2 }, 'temperature: Input should be less than or equal to 1'],
        [{ ...ok, thinking: { type: 'enabled', budget_tokens: 10 } }, 'thinking.budget_tokens: Input should be greater than or equal to 1024'],
      ];
      for (const [body, message] of cases) {
        const res = await post(proxy, '/v1/messages', body);
        assert.equal(res.status, 400, message);
        const err = JSON.parse(res.text);
        assert.equal(err.type, 'error');
        assert.equal(err.error.type, 'invalid_request_error');
        assert.equal(err.error.message, message);
      }
      const prefill = await post(proxy, '/v1/messages', { ...ok, messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] });
      assert.equal(prefill.status, 400);
      assert.match(JSON.parse(prefill.text).error.message, /^messages: the conversation must end with a user message/);
      const garbage = await post(proxy, '/v1/messages', null, { raw: '{"model": ' });
      assert.equal(garbage.status, 400);
      assert.match(JSON.parse(garbage.text).error.message, /^body is not valid JSON: /);
      // The SDK sees these as BadRequestError; none of them reached the model.
      await rejects(client.messages.create({ model: MODEL, max_tokens: 10, messages: [] }), Anthropic.BadRequestError, 400);
      assert.equal(up.turns().length, turns);
    });

    test(`every_cli_ran_over_${transport}`, T, async () => {
      const spawns = proxy.logEvents('session.spawn');
      assert.ok(spawns.length > 0);
      assert.deepEqual([...new Set(spawns.map((e) => e.transport))], [transport]);
    });

    test('rate_limit_event_becomes_anthropic_ratelimit_headers', T, async () => {
      // A subscription login (OAuth token) is what makes the CLI report rate limits.
      const limited = await startUpstreamRelay(up.url, { headers: RATE_LIMIT_HEADERS });
      const p = await startProxy({
        config,
        env: { ANTHROPIC_BASE_URL: limited.url, CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-fake', CLAUDE_CODE_MAX_RETRIES: '0' },
      });
      try {
        const c = new Anthropic({ baseURL: p.url, apiKey: 'x', maxRetries: 0 });
        const { data, response } = await c.messages
          .create({ model: MODEL, max_tokens: 100, messages: user('[[say:limited]]') })
          .withResponse();
        assert.equal(textOf(data), 'limited');
        const h = (name) => response.headers.get(`anthropic-ratelimit-unified-${name}`);
        assert.equal(h('status'), 'allowed_warning');
        assert.equal(h('reset'), '1900000000');
        assert.equal(h('representative-claim'), 'five_hour');
        assert.equal(h('5h-utilization'), '0.95');
        assert.equal(h('5h-reset'), '1900000000');
        assert.equal(h('5h-surpassed-threshold'), '0.9');
      } finally {
        await stopClean(p);
        await limited.close();
      }
    });
  });
}
