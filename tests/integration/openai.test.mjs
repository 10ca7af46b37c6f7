// cli-matrix: ctest runs this file once per CLI version (CLAUDE_TEST_CLI_VERSION).
// POST /v1/chat/completions with the official openai SDK, the real CLI and the fake upstream — once per
// transport: stdio with CLI 2.1.197, WebSocket (--sdk-url) with CLI 2.1.100.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startFakeUpstream } = await import(path.join(SOURCE_DIR, 'tests/fakes/fake-upstream.mjs'));
const { startProxy, TEST_CLIS } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));

const MODEL = 'claude-sonnet-4-5';
// 1x1 transparent PNG.
const PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const T = { timeout: 120_000 };

// One entry per CLI version this run tests (lib/cli-versions.mjs): 2.1.100 over WebSocket, the others over stdio.
const TRANSPORTS = TEST_CLIS;

const user = (content) => [{ role: 'user', content }];

// The client's words in an upstream message, without the CLI's <system-reminder> blocks.
function upstreamText(msg) {
  const blocks = typeof msg.content === 'string' ? [{ type: 'text', text: msg.content }] : msg.content;
  return blocks
    .filter((b) => b.type === 'text')
    .map((b) => b.text.replace(/<system-reminder>[\s\S]*?<\/system-reminder>/g, '').trim())
    .filter(Boolean)
    .join('\n');
}

function systemText(body) {
  const system = body.system ?? '';
  return typeof system === 'string' ? system : system.map((b) => b.text).join('\n');
}

async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

async function stopClean(proxy) {
  if (!proxy) return;
  const r = await proxy.stop();
  assert.equal(r.code, 0, `proxy exit: ${JSON.stringify(r)}\n${proxy.logs().slice(-3000)}`);
  assert.deepEqual(proxy.sanitizerReports(), []);
  proxy.cleanup();
}

for (const { transport, cli, version } of TRANSPORTS) {
  const skip = !fs.existsSync(cli) && `${path.relative(SOURCE_DIR, cli)} not installed`;

  describe(`chat completions over ${transport} (CLI ${version})`, { skip }, () => {
    let up;
    let proxy;
    let client;
    const ask = (content, extra = {}) => client.chat.completions.create({ model: 'gpt-4o', messages: user(content), ...extra });

    before(async () => {
      up = await startFakeUpstream();
      proxy = await startProxy({
        config: {
          claudePath: cli,
          transport,
          defaultModel: MODEL,
          modelAliases: { 'gpt-4o': MODEL, 'o4-mini': 'claude-sonnet-4-6' },
          pingIntervalMs: 150,
        },
        // CLAUDE_CODE_MAX_RETRIES: the CLI would otherwise retry a 429/5xx for minutes before giving up.
        env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test', CLAUDE_CODE_MAX_RETRIES: '0' },
      });
      client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'x', maxRetries: 0 });
    });

    after(async () => {
      await stopClean(proxy);
      await up?.close();
    });

    test('the configured transport is in use', T, async () => {
      await ask('hi');
      const spawns = proxy.logEvents('session.spawn');
      assert.ok(spawns.length > 0);
      assert.ok(spawns.every((s) => s.transport === transport), JSON.stringify(spawns));
    });

    test('create_returns_a_chat_completion', T, async () => {
      const res = await ask('hi');
      assert.equal(res.object, 'chat.completion');
      assert.match(res.id, /^chatcmpl-/);
      assert.equal(res.model, 'gpt-4o', 'the requested model name is echoed');
      assert.ok(Number.isInteger(res.created) && res.created > 0);
      assert.equal(res.choices.length, 1);
      assert.equal(res.choices[0].index, 0);
      assert.equal(res.choices[0].message.role, 'assistant');
      assert.equal(res.choices[0].message.content, 'Hello from the fake upstream.');
      assert.equal(res.choices[0].finish_reason, 'stop');
      assert.ok(res.usage.prompt_tokens > 0);
      assert.ok(res.usage.completion_tokens > 0);
      assert.equal(res.usage.total_tokens, res.usage.prompt_tokens + res.usage.completion_tokens);
      assert.equal(up.lastTurn().body.model, MODEL, 'the alias reached upstream resolved');
    });

    test('absent_model_uses_the_default_model', T, async () => {
      const res = await fetch(`${proxy.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: user('[[say:defaulted]]') }),
      });
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.choices[0].message.content, 'defaulted');
      assert.equal(up.lastTurn().body.model, MODEL);
    });

    test('create_stream_yields_chunks_in_order', T, async () => {
      const chunks = await collect(await ask('hi', { stream: true }));
      assert.ok(chunks.length >= 3);
      assert.equal(chunks[0].object, 'chat.completion.chunk');
      assert.equal(chunks[0].model, 'gpt-4o');
      assert.equal(chunks[0].choices[0].delta.role, 'assistant');
      assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'one id for the whole stream');
      assert.match(chunks[0].id, /^chatcmpl-/);
      const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
      assert.equal(text, 'Hello from the fake upstream.');
      assert.ok(chunks.filter((c) => c.choices[0]?.delta?.content).length > 1, 'content arrives in several deltas');
      const last = chunks.at(-1);
      assert.equal(last.choices[0].finish_reason, 'stop');
      assert.deepEqual(last.choices[0].delta, {});
      assert.ok(chunks.slice(0, -1).every((c) => c.choices[0].finish_reason === null));
      assert.ok(chunks.every((c) => c.usage === undefined), 'no usage chunk unless asked');
    });

    test('stream_include_usage_ends_with_a_usage_chunk_then_done', T, async () => {
      const res = await fetch(`${proxy.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: user('hi') }),
      });
      assert.equal(res.status, 200);
      const frames = (await res.text()).split('\n\n').filter((f) => f.startsWith('data: ')).map((f) => f.slice(6));
      assert.equal(frames.at(-1), '[DONE]');
      const chunks = frames.slice(0, -1).map((f) => JSON.parse(f));
      const usage = chunks.at(-1);
      assert.deepEqual(usage.choices, []);
      assert.ok(usage.usage.prompt_tokens > 0);
      assert.ok(usage.usage.completion_tokens > 0);
      assert.equal(usage.usage.total_tokens, usage.usage.prompt_tokens + usage.usage.completion_tokens);
      assert.equal(chunks.at(-2).choices[0].finish_reason, 'stop');
      assert.ok(chunks.slice(0, -1).every((c) => c.usage === null), 'the other chunks carry usage: null');

      const viaSdk = await collect(await ask('hi', { stream: true, stream_options: { include_usage: true } }));
      assert.ok(viaSdk.at(-1).usage.completion_tokens > 0);
    });

    test('stream_helper_gives_final_chat_completion', T, async () => {
      const runner = client.chat.completions.stream({ model: 'gpt-4o', messages: user('[[say:Streamed by the helper.]]') });
      let deltas = '';
      runner.on('content', (delta) => { deltas += delta; });
      const final = await runner.finalChatCompletion();
      assert.equal(final.choices[0].message.content, 'Streamed by the helper.');
      assert.equal(final.choices[0].message.role, 'assistant');
      assert.equal(final.choices[0].finish_reason, 'stop');
      assert.equal(deltas, 'Streamed by the helper.');
      assert.equal(await runner.finalContent(), 'Streamed by the helper.');
    });

    test('multi_turn_history_arrives_upstream_as_real_turns', T, async () => {
      const first = await ask('[[say:First answer.]] question one');
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

    test('history_the_cli_never_saw_is_seeded_as_real_turns', T, async () => {
      await client.chat.completions.create({
        model: 'gpt-4o',
        messages: [
          { role: 'user', content: 'SEEDED-QUESTION' },
          { role: 'assistant', content: 'SEEDED-ANSWER' },
          { role: 'user', content: '[[echo]] follow-up' },
        ],
      });
      const msgs = up.lastTurn().body.messages;
      assert.equal(msgs.length, 3);
      assert.deepEqual(msgs.map((m) => m.role), ['user', 'assistant', 'user']);
      assert.match(upstreamText(msgs[0]), /SEEDED-QUESTION/);
      assert.equal(upstreamText(msgs[1]), 'SEEDED-ANSWER');
      assert.match(upstreamText(msgs[2]), /follow-up/);
    });

    test('system_and_developer_messages_reach_the_system_prompt', T, async () => {
      await client.chat.completions.create({
        model: 'gpt-4o',
        messages: [
          { role: 'system', content: 'SYSTEM-RULE-ONE' },
          { role: 'developer', content: [{ type: 'text', text: 'DEVELOPER-RULE-TWO' }] },
          { role: 'user', content: 'hi' },
        ],
      });
      const text = systemText(up.lastTurn().body);
      const one = text.indexOf('SYSTEM-RULE-ONE');
      const two = text.indexOf('DEVELOPER-RULE-TWO');
      assert.ok(one >= 0 && two > one, `both, in order, in: ${text.slice(0, 500)}`);
      const last = up.lastTurn().body.messages.at(-1);
      assert.doesNotMatch(upstreamText(last), /RULE/, 'not sent as user text');
    });

    test('image_data_url_arrives_as_an_image_block', T, async () => {
      const res = await ask([
        { type: 'text', text: 'what is this?' },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_B64}`, detail: 'low' } },
      ]);
      assert.equal(res.choices[0].finish_reason, 'stop');
      const last = up.lastTurn().body.messages.at(-1);
      const image = last.content.find((b) => b.type === 'image');
      assert.ok(image, 'an image block upstream');
      assert.deepEqual(image.source, { type: 'base64', media_type: 'image/png', data: PNG_B64 });
      assert.match(upstreamText(last), /what is this\?/);
    });

    test('response_format_json_schema_gives_json_matching_the_schema', T, async () => {
      const schema = {
        type: 'object',
        properties: { name: { type: 'string' }, age: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } },
        required: ['name', 'age', 'tags'],
        additionalProperties: false,
      };
      const res = await client.chat.completions.parse({
        model: 'gpt-4o',
        messages: user('Describe a person.'),
        response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
      });
      const message = res.choices[0].message;
      assert.deepEqual(JSON.parse(message.content), { name: 'sample', age: 1, tags: ['sample'] });
      assert.deepEqual(message.parsed, { name: 'sample', age: 1, tags: ['sample'] }, 'the SDK parsed it');
      assert.equal(res.choices[0].finish_reason, 'stop');
      assert.equal(message.tool_calls ?? undefined, undefined, 'the CLI\'s own tool is not shown as a tool call');
      const offered = up.lastTurn().body.tools || [];
      const tool = offered.find((t) => t.name === 'StructuredOutput');
      assert.ok(tool, 'the CLI offered its structured-output tool');
      assert.deepEqual(tool.input_schema.required, ['name', 'age', 'tags'], 'with the client\'s schema');
    });

    test('response_format_json_schema_streams_json_matching_the_schema', T, async () => {
      const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
      const runner = client.chat.completions.stream({
        model: 'gpt-4o',
        messages: user('A city, please.'),
        response_format: { type: 'json_schema', json_schema: { name: 'city', schema } },
      });
      const final = await runner.finalChatCompletion();
      assert.deepEqual(JSON.parse(final.choices[0].message.content), { city: 'sample' });
      assert.equal(final.choices[0].finish_reason, 'stop');
    });

    test('response_format_json_object_gives_a_json_object', T, async () => {
      const res = await ask('Some JSON, please.', { response_format: { type: 'json_object' } });
      const parsed = JSON.parse(res.choices[0].message.content);
      assert.equal(typeof parsed, 'object');
      assert.ok(parsed !== null && !Array.isArray(parsed));
      const tool = (up.lastTurn().body.tools || []).find((t) => t.name === 'StructuredOutput');
      assert.equal(tool?.input_schema?.type, 'object');
    });

    test('stop_sequence_cuts_the_answer', T, async () => {
      const res = await ask('[[say:alpha beta HALT gamma]]', { stop: ['HALT'] });
      assert.equal(res.choices[0].message.content.trim(), 'alpha beta');
      assert.equal(res.choices[0].finish_reason, 'stop');
      const chunks = await collect(await ask('[[say:one two STOP three]]', { stop: 'STOP', stream: true }));
      const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
      assert.equal(text.trim(), 'one two');
      assert.doesNotMatch(text, /STOP|three/);
      assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
    });

    test('max_tokens_gives_finish_reason_length', T, async () => {
      const res = await ask('[[long:400]]', { max_tokens: 10 });
      assert.equal(res.choices[0].finish_reason, 'length');
      const words = res.choices[0].message.content.split(' ');
      assert.ok(words.length > 1 && words.length < 400, `cut short: ${words.length} words`);
      assert.ok(res.usage.completion_tokens <= 10);
    });

    test('max_completion_tokens_streamed_gives_finish_reason_length', T, async () => {
      const chunks = await collect(await ask('[[long:400]]', { max_completion_tokens: 10, stream: true }));
      assert.equal(chunks.at(-1).choices[0].finish_reason, 'length');
      const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
      assert.ok(text.length > 0 && text.length <= 40, `cut at about 10 tokens: ${text.length} characters`);
    });

    test('reasoning_effort_reaches_upstream_as_effort', T, async () => {
      // Effort is sent only for models that take it (claude-sonnet-4-6 does; o4-mini is aliased to it).
      for (const [asked, sent] of [['low', 'low'], ['minimal', 'low'], ['medium', 'medium'], ['high', 'high']]) {
        const res = await client.chat.completions.create({
          model: 'o4-mini', messages: user(`[[say:effort ${asked}]]`), reasoning_effort: asked,
        });
        assert.equal(res.choices[0].message.content, `effort ${asked}`);
        assert.equal(res.model, 'o4-mini');
        const body = up.lastTurn().body;
        assert.equal(body.model, 'claude-sonnet-4-6');
        assert.equal(body.output_config?.effort, sent, `reasoning_effort ${asked}`);
      }
      await assert.rejects(
        ask('hi', { reasoning_effort: 'extreme' }),
        (err) => err instanceof OpenAI.BadRequestError && err.param === 'reasoning_effort',
      );
    });

    test('reasoning_effort_sets_the_upstream_thinking', T, async () => {
      // gpt-4o is aliased to claude-sonnet-4-5, a model that takes a thinking budget.
      const upstreamThinking = () => up.lastTurn().body.thinking;
      await ask(`[[say:pondered]] ${process.pid}-medium`, { reasoning_effort: 'medium' });
      assert.deepEqual(upstreamThinking(), { type: 'enabled', budget_tokens: 8192 });
      // Like the real API, no thinking unless asked (2.1.100 leaves the field out, 2.1.197 says so).
      await ask(`[[say:plain]] ${process.pid}-default`);
      const unasked = upstreamThinking();
      assert.ok(unasked === undefined || unasked.type === 'disabled', `no reasoning_effort: ${JSON.stringify(unasked)}`);
      const res = await ask(`[[say:quick]] ${process.pid}-none`, { reasoning_effort: 'none' });
      assert.equal(res.choices[0].message.content, 'quick');
      const off = upstreamThinking(); // 2.1.100 leaves the field out, 2.1.197 says so
      assert.ok(off === undefined || off.type === 'disabled', `reasoning_effort none: ${JSON.stringify(off)}`);
    });

    test('thinking_comes_back_as_reasoning_content', T, async () => {
      const res = await ask('[[thinking]] [[say:thought through]]');
      assert.equal(res.choices[0].message.content, 'thought through');
      assert.equal(res.choices[0].message.reasoning_content, 'Let me think about this.');
      const chunks = await collect(await ask('[[thinking]] [[say:thought through]]', { stream: true }));
      const reasoning = chunks.map((c) => c.choices[0]?.delta?.reasoning_content ?? '').join('');
      assert.equal(reasoning, 'Let me think about this.');
    });

    test('n_other_than_one_is_rejected_naming_n', T, async () => {
      const before = up.requests.length;
      await assert.rejects(
        ask('hi', { n: 2 }),
        (err) => err instanceof OpenAI.BadRequestError && err.status === 400 && err.param === 'n' &&
          err.type === 'invalid_request_error' && /\bn\b/.test(err.message),
      );
      assert.equal(up.requests.length, before, 'nothing went upstream');
    });

    test('validation_errors_name_the_field', T, async () => {
      await assert.rejects(
        client.chat.completions.create({ model: 'gpt-4o', messages: [] }),
        (err) => err.status === 400 && err.param === 'messages',
      );
      await assert.rejects(
        client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'wizard', content: 'x' }] }),
        (err) => err.status === 400 && err.param === 'messages[0].role',
      );
      await assert.rejects(
        client.chat.completions.create({
          model: 'gpt-4o', messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }],
        }),
        (err) => err.status === 400 && err.param === 'messages',
      );
      await assert.rejects(
        ask([{ type: 'image_url', image_url: { url: 'data:image/bmp;base64,AAAA' } }]),
        (err) => err.status === 400 && err.param === 'messages[0].content[0].image_url.url',
      );
      const raw = await fetch(`${proxy.url}/v1/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"messages": [',
      });
      assert.equal(raw.status, 400);
      const body = await raw.json();
      assert.equal(body.error.type, 'invalid_request_error');
      assert.equal(typeof body.error.message, 'string');
    });

    const upstreamErrors = [
      [400, OpenAI.BadRequestError],
      [401, OpenAI.AuthenticationError],
      [404, OpenAI.NotFoundError],
      [429, OpenAI.RateLimitError],
      [500, OpenAI.InternalServerError],
    ];
    // CLI 2.1.100 reports no api_error_status; the engine reads it from the "API Error: NNN" text.
    for (const [status, ErrorClass] of upstreamErrors) {
      test(`upstream_${status}_maps_to_${ErrorClass.name}`, T, async () => {
        await assert.rejects(ask(`[[error:${status}:fake ${status} says no]]`), (err) => {
          assert.ok(err instanceof ErrorClass, `${err.constructor.name}: ${err.message}`);
          assert.equal(err.status, status);
          assert.equal(typeof err.error?.message, 'string');
          assert.equal(typeof err.type, 'string');
          if (status === 404) assert.equal(err.code, 'model_not_found');
          if (status === 429) assert.ok(Number(err.headers.get('retry-after')) > 0, 'retry-after is passed on');
          return true;
        });
      });
    }

    test('upstream_error_on_a_stream_is_an_http_error', T, async () => {
      await assert.rejects(
        (async () => collect(await ask('[[error:401]]', { stream: true })))(),
        (err) => err instanceof OpenAI.AuthenticationError && err.status === 401,
      );
    });

    test('slow_stream_gets_keepalive_pings', T, async () => {
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

    test('client_disconnect_mid_stream_interrupts_the_turn', T, async () => {
      // The interrupted turn is taken back (session.rewound) or its session closed (a CLI that cannot).
      const settled = () => proxy.logEvents('session.close').filter((e) => e.reason === 'turn interrupted').length
        + proxy.logEvents('session.rewound').length;
      const interruptedBefore = settled();
      const stream = await ask('[[slow:150]] [[long:60]]', { stream: true });
      let seen = 0;
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta?.content) seen++;
        if (seen === 2) break; // the SDK aborts the request
      }
      assert.equal(seen, 2);
      await proxy.until(() => proxy.logEvents('turn.client_abort').length > 0);
      await proxy.until(
        () => settled() > interruptedBefore,
        30_000,
      );
      const res = await ask('[[say:still here]]');
      assert.equal(res.choices[0].message.content, 'still here');
    });

    // The upstream fails after its stream began ([[fail_mid:N]]: N text deltas, then an overloaded_error
    // event). OpenAI's own streams end such a failure with a `data: {"error": {...}}` event and no [DONE].
    test('failure_after_the_stream_began_ends_it_with_an_error_chunk', T, async () => {
      let seq = 0;
      const prompt = `[[fail_mid:3]] failmid-${process.pid}-${++seq}`;
      const res = await fetch(`${proxy.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: user(prompt) }),
      });
      assert.equal(res.status, 200, 'the stream had begun: the status is already sent');
      const text = await res.text();
      const events = text.split('\n\n').filter(Boolean);
      for (const e of events) assert.match(e, /^(: ping|data: .*)$/s);
      const data = events.filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
      assert.ok(!data.includes('[DONE]'), 'a failed stream does not end with [DONE]');
      const chunks = data.map((d) => JSON.parse(d));
      const last = chunks.at(-1);
      assert.deepEqual(Object.keys(last), ['error'], `last event: ${JSON.stringify(last)}`);
      assert.match(last.error.message, /fake upstream overloaded mid-stream/, 'the upstream words its own error');
      assert.equal(last.error.type, 'server_error');
      assert.equal(last.error.code, 'overloaded');
      const streamed = chunks.slice(0, -1);
      assert.ok(streamed.every((c) => c.object === 'chat.completion.chunk'));
      assert.ok(streamed.every((c) => c.choices[0].finish_reason === null), 'no chunk claims the answer finished');
      const content = streamed.map((c) => c.choices[0].delta.content ?? '').join('');
      assert.equal(content, 'm1 m2 m3 m4 m5 m6 ');

      // The openai SDK throws an APIError for that event, after yielding the chunks before it.
      const pieces = [];
      await assert.rejects(
        (async () => {
          for await (const c of await ask(`[[fail_mid:2]] failmid-${process.pid}-${++seq}`, { stream: true }))
            pieces.push(c.choices[0]?.delta?.content ?? '');
        })(),
        (err) => {
          assert.ok(err instanceof OpenAI.APIError, `${err.constructor.name}: ${err.message}`);
          assert.equal(err.code, 'overloaded');
          assert.match(err.message, /fake upstream overloaded mid-stream/);
          return true;
        },
      );
      assert.equal(pieces.join(''), 'm1 m2 m3 m4 ');

      // The conversation goes on: the client sends it back with what it got, and the upstream sees it all.
      const next = await client.chat.completions.create({
        model: 'gpt-4o',
        messages: [...user(prompt), { role: 'assistant', content }, ...user('[[say:after the failure]]')],
      });
      assert.equal(next.choices[0].message.content, 'after the failure');
      const sent = up.lastTurn().body.messages;
      assert.deepEqual(sent.map((m) => m.role), ['user', 'assistant', 'user']);
      assert.equal(upstreamText(sent[0]), prompt);
      assert.equal(upstreamText(sent[1]), content.trim());
    });

    // After a broken stream the CLI asks again without streaming and gets the whole answer, which comes
    // without stream events: the client still gets all of it, streamed or not.
    test('an_answer_retried_after_a_broken_stream_is_not_cut_short', T, async () => {
      const whole = Array.from({ length: 23 }, (_, k) => `m${k + 1} `).join('');
      let seq = 0;
      const prompt = () => `[[fail_mid:3:retry_ok]] retry-${process.pid}-${++seq}`;
      const turns = up.turns().length;
      const res = await ask(prompt());
      assert.deepEqual(up.turns().slice(turns).map((r) => !!r.body.stream), [true, false], 'a broken stream, then the retry');
      assert.equal(res.choices[0].message.content, whole);
      assert.equal(res.choices[0].finish_reason, 'stop');
      // The fake upstream's counts for the retried answer: 11 input + 2 cache writes + 3 cache reads, 14 out.
      assert.equal(res.usage.prompt_tokens, 16);
      assert.equal(res.usage.completion_tokens, 14);

      const chunks = await collect(await ask(prompt(), { stream: true, stream_options: { include_usage: true } }));
      const content = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
      assert.equal(content, whole);
      const finishes = chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean);
      assert.deepEqual(finishes, ['stop']);
      assert.equal(chunks.at(-1).usage.completion_tokens, 14);

      const stopped = await ask(prompt(), { stop: ['m9 '] });
      assert.equal(stopped.choices[0].message.content, 'm1 m2 m3 m4 m5 m6 m7 m8 ');
      assert.equal(stopped.choices[0].finish_reason, 'stop');
      const short = await ask(prompt(), { max_tokens: 6 }); // 24 characters
      assert.equal(short.choices[0].message.content, whole.slice(0, 24));
      assert.equal(short.choices[0].finish_reason, 'length');
    });

    test('models_list_and_retrieve_are_read_by_the_sdk', T, async () => {
      const ids = [];
      for await (const model of client.models.list()) ids.push(model.id);
      assert.ok(ids.length > 0);
      const one = await client.models.retrieve(ids[0]);
      assert.equal(one.id, ids[0]);
    });
  });
}

describe('chat completions without a usable CLI', () => {
  let proxy;
  before(async () => {
    proxy = await startProxy({ config: { claudePath: '/nonexistent/claude', defaultModel: MODEL } });
  });
  after(async () => stopClean(proxy));

  test('a turn that cannot start is a 503 in OpenAI shape', T, async () => {
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'x', maxRetries: 0 });
    await assert.rejects(client.chat.completions.create({ model: MODEL, messages: user('hi') }), (err) => {
      assert.ok(err instanceof OpenAI.APIError, String(err));
      assert.equal(err.status, 503);
      assert.equal(typeof err.error?.message, 'string');
      assert.match(err.error.message, /not found|claude/i);
      return true;
    });
  });
});
