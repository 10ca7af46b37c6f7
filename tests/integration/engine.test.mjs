// cli-matrix: ctest runs this file once per CLI version (CLAUDE_TEST_CLI_VERSION).
// The session engine end to end, without HTTP: tests/fakes/engine_driver runs turns through the real
// engine against the real Claude Code CLI (each stdio version of the run) and the fake upstream, and against the fake CLI for
// faults (tests/integration/engine-faults.test.mjs).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { startFakeUpstream } from '../fakes/fake-upstream.mjs';
import { CLI_100, CLI_197, Driver, TEST_CLIS, testsCli, streamedText, text, upstreamSession, userText } from './lib/engine-driver.mjs';

const MODEL = 'claude-sonnet-4-5';
const user = (content, extra = {}) => ({ model: MODEL, max_tokens: 1024, messages: [{ role: 'user', content }], ...extra });

// The stdio CLIs of this run (the WebSocket one, 2.1.100, has its own suite below).
for (const { version, cli } of TEST_CLIS.filter((c) => c.transport === 'stdio')) {
  const skip = !fs.existsSync(cli) && `claude ${version} not installed`;

  describe(`engine with the real CLI ${version}`, { skip }, () => {
    let up;
    let d;
    before(async () => {
      up = await startFakeUpstream();
      d = await Driver.start({ claudePath: cli, warmSessions: 1, maxSessions: 3 }, { ANTHROPIC_BASE_URL: up.url });
    });
    after(async () => {
      const r = await d?.stop();
      assert.equal(r?.code, 0, d?.stderr.slice(-3000));
      assert.deepEqual(d.sanitizerReports(), []);
      d?.cleanup();
      await up?.close();
    });

    test('a warm process serves the first turn and the stream is one whole message', async () => {
      // Let the warm process come up first: it is spawned at start, before any request.
      const st = await d.stats();
      assert.equal(st.transport, 'stdio');
      assert.equal(st.cli_version, version);
      assert.equal(st.is_cli_found, true);
      assert.equal(st.warm, 1);
      const res = await d.turn('warm1', user('[[say:Hello, engine.]]', { system: 'You are the engine test.' }));
      assert.equal(res.error, undefined);
      assert.equal(text(res), 'Hello, engine.');
      assert.equal(streamedText(res), 'Hello, engine.');
      const types = res.events.map((e) => e.type);
      assert.equal(types[0], 'message_start');
      assert.equal(types.filter((t) => t === 'message_start').length, 1);
      assert.deepEqual(types.slice(-2), ['message_delta', 'message_stop']);
      assert.equal(res.events[0].message.usage.cache_read_input_tokens, 3);
      assert.equal(res.events[0].message.usage.cache_creation_input_tokens, 2);
      assert.equal(res.events.at(-2).delta.stop_reason, 'end_turn');
      assert.equal(res.done.stop_reason, 'end_turn');
      assert.equal(res.done.usage.input_tokens, 11);
      assert.equal(res.done.usage.cache_read_input_tokens, 3);
      assert.ok(res.done.usage.output_tokens > 0);
      // Served by the warm process: no process was spawned for this request.
      assert.equal(d.spawns().filter((s) => s.warm === '0').length, 0);
    });

    test("the caller's system prompt replaces Claude Code's, and no tools are offered", async () => {
      await d.turn('sys1', user('[[say:ok]]', { system: [{ type: 'text', text: 'SYSTEM-MARKER-42' }] }));
      const req = up.lastTurn();
      const system = req.body.system.map((b) => b.text).join('\n');
      assert.match(system, /SYSTEM-MARKER-42/);
      assert.doesNotMatch(system, /Claude Code/);
      assert.doesNotMatch(system, /tool/i);
      assert.deepEqual(req.body.tools || [], []);
    });

    test('earlier turns reach the upstream as real alternating turns (seeded transcript)', async () => {
      const body = {
        model: MODEL, max_tokens: 100, system: 'Seed test.',
        messages: [
          { role: 'user', content: 'My name is Zed.' },
          { role: 'assistant', content: [{ type: 'thinking', thinking: 'hm', signature: 's' }, { type: 'text', text: 'Nice to meet you, Zed.' }] },
          { role: 'user', content: [{ type: 'text', text: 'I like tea.', cache_control: { type: 'ephemeral' } }] },
          { role: 'assistant', content: 'Tea is great.' },
          { role: 'user', content: '[[say:You are Zed.]]' },
        ],
      };
      const res = await d.turn('seed1', body);
      assert.equal(text(res), 'You are Zed.');
      const msgs = up.lastTurn().body.messages;
      assert.deepEqual(msgs.map((m) => m.role), ['user', 'assistant', 'user', 'assistant', 'user']);
      assert.deepEqual(msgs.map(userText), ['My name is Zed.', 'Nice to meet you, Zed.', 'I like tea.', 'Tea is great.',
        '[[say:You are Zed.]]']);
      // the seeded transcript is removed when the session ends, not left in the operator's config dir
      const sessions = await d.sessions();
      assert.ok(sessions.some((s) => s.state === 'idle'));
    });

    test('a follow-up that extends the conversation reuses the same process', async () => {
      const first = user('[[say:first answer]]', { system: 'Reuse test.' });
      const r1 = await d.turn('reuse1', first);
      assert.equal(text(r1), 'first answer');
      const s1 = upstreamSession(up.lastTurn());
      const spawnsBefore = d.spawns().length;
      // As an OpenAI client sends it back: the assistant reply as a plain string.
      const second = { ...first, messages: [...first.messages, { role: 'assistant', content: 'first answer' },
        { role: 'user', content: '[[say:second answer]]' }] };
      const r2 = await d.turn('reuse2', second);
      assert.equal(text(r2), 'second answer');
      assert.equal(upstreamSession(up.lastTurn()), s1, 'the same CLI session answered');
      // As an Anthropic SDK sends it back: the reply's content blocks.
      const third = { ...second, messages: [...second.messages, { role: 'assistant', content: r2.done.content },
        { role: 'user', content: '[[say:third answer]]' }] };
      const r3 = await d.turn('reuse3', third);
      assert.equal(text(r3), 'third answer');
      assert.equal(upstreamSession(up.lastTurn()), s1);
      const msgs = up.lastTurn().body.messages;
      assert.deepEqual(msgs.map(userText), ['[[say:first answer]]', 'first answer', '[[say:second answer]]',
        'second answer', '[[say:third answer]]']);
      // the CLI was given only the new user turn each time (it holds the rest): no seeded spawn, reused=1
      await d.until(() => /session\.turn .*request_id=reuse3 .*messages=5 reused=1/.test(d.stderr));
      assert.equal(d.spawns().slice(spawnsBefore).filter((s) => s.seeded !== '0').length, 0);
      // Only the warm replacement may have been spawned meanwhile, never a cold process for this conversation.
      assert.equal(d.spawns().slice(spawnsBefore).filter((s) => s.warm === '0').length, 0);
    });

    test('an image block reaches the upstream as an image, in a new turn and in seeded history', async () => {
      // a 1x1 PNG
      const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
      const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } };
      const first = user([image, { type: 'text', text: '[[say:a pixel]]' }], { system: 'Image test.' });
      const r1 = await d.turn('img1', first);
      assert.equal(text(r1), 'a pixel');
      const sent = up.lastTurn().body.messages.at(-1).content;
      const img = sent.find((b) => b.type === 'image');
      assert.ok(img, JSON.stringify(sent).slice(0, 500));
      assert.equal(img.source.data, png);
      assert.equal(img.source.media_type, 'image/png');
      // the same history in a new process (a different system prompt: no session holds it)
      const seeded = await d.turn('img2', { ...first, system: 'Image test, seeded.', messages: [...first.messages,
        { role: 'assistant', content: 'a pixel' }, { role: 'user', content: '[[say:still a pixel]]' }] });
      assert.equal(text(seeded), 'still a pixel');
      const msgs = up.lastTurn().body.messages;
      assert.deepEqual(msgs.map((m) => m.role), ['user', 'assistant', 'user']);
      assert.equal(msgs[0].content.find((b) => b.type === 'image')?.source.data, png);
    });

    test('a different history does not reuse a session', async () => {
      const body = user('[[say:one]]', { system: 'Other.' });
      const r1 = await d.turn('other1', body);
      const s1 = upstreamSession(up.lastTurn());
      const edited = { ...body, messages: [...body.messages, { role: 'assistant', content: 'not what was said' },
        { role: 'user', content: '[[say:two]]' }] };
      const r2 = await d.turn('other2', edited);
      assert.equal(text(r1), 'one');
      assert.equal(text(r2), 'two');
      assert.notEqual(upstreamSession(up.lastTurn()), s1);
    });

    for (const [status, kind, message] of [
      [401, 'authentication', 'fake upstream authentication_error'],
      [404, 'not_found', null],
      [429, 'rate_limit', 'fake upstream rate_limit_error'],
      [500, 'upstream', 'fake upstream api_error'],
      [529, 'overloaded', 'fake upstream overloaded_error'],
      [400, 'invalid_request', 'Custom bad request text'],
    ]) {
      test(`upstream ${status} becomes a ${kind} error with the upstream's words`, async () => {
        const directive = status === 400 ? '[[error:400:Custom bad request text]]' : `[[error:${status}]]`;
        const res = await d.turn(`err${status}`, user(directive));
        assert.ok(res.error, JSON.stringify(res));
        assert.equal(res.error.kind, kind);
        assert.equal(res.error.status, status === 500 ? 500 : status);
        if (message) assert.equal(res.error.message, message);
        else assert.ok(res.error.message.length > 0);
      });
    }

    test('thinking blocks and their signature pass through', async () => {
      const res = await d.turn('think1', user('[[thinking]] [[say:thought]]'));
      const deltas = res.events.filter((e) => e.type === 'content_block_delta').map((e) => e.delta.type);
      assert.ok(deltas.includes('thinking_delta'));
      assert.ok(deltas.includes('signature_delta'));
      assert.deepEqual(res.done.content.map((b) => b.type), ['thinking', 'text']);
      assert.equal(res.done.content[0].signature, 'sig_fake_0123456789');
      assert.deepEqual(res.events.filter((e) => e.type === 'content_block_start').map((e) => e.index), [0, 1]);
    });

    test('a stop sequence cuts the text and ends the turn with stop_sequence', async () => {
      const res = await d.turn('stop1', user('[[say:alpha beta STOP gamma delta]]', { stop_sequences: ['STOP'] }));
      assert.equal(streamedText(res), 'alpha beta ');
      assert.equal(text(res), 'alpha beta ');
      assert.equal(res.done.stop_reason, 'stop_sequence');
      assert.equal(res.done.stop_sequence, 'STOP');
      assert.equal(res.events.at(-2).delta.stop_sequence, 'STOP');
    });

    test('max_tokens caps the answer (4 characters per token)', async () => {
      const res = await d.turn('max1', user('[[long:200]]', { max_tokens: 5 }));
      assert.equal(res.done.stop_reason, 'max_tokens');
      assert.equal(streamedText(res), text(res));
      assert.ok(text(res).length <= 20 && text(res).length > 0, text(res));
      assert.ok(res.done.usage.output_tokens <= 5);
    });

    test('in api mode the model cannot run commands on the host', async () => {
      const marker = path.join(d.dir, 'pwned.txt');
      const res = await d.turn('host1', user(`[[tool:Bash:{"command":"touch ${marker}"}]]`));
      assert.equal(res.error, undefined);
      assert.match(text(res), /No such tool available: Bash/);
      assert.equal(fs.existsSync(marker), false);
      // the CLI's own tool call never reaches the client as a tool_use block
      assert.ok(res.done.content.every((b) => b.type !== 'tool_use'));
    });

    test('a cancelled turn interrupts the CLI and the engine goes on', async () => {
      const res = await d.turn('cancel1', user('[[slow:150]] [[long:60]]'), { cancel_after_events: 4 });
      assert.equal(res.cancelled, true);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(d.lines.filter((m) => m.id === 'cancel1' && m.event).length, 4, 'no event after the cancel');
      // The CLI reported the interrupted turn: it was taken back (2.1.332), or its process recycled (2.1.197
      // cannot take back a first turn).
      await d.until(() => /session\.close .*reason="turn interrupted"|session\.rewound /.test(d.stderr));
      const next = await d.turn('cancel2', user('[[say:still here]]'));
      assert.equal(text(next), 'still here');
    });
  });

  describe(`engine limits with the real CLI ${version}`, { skip }, () => {
    test('beyond maxSessions requests wait in a bounded queue, then get 429', async () => {
      const up = await startFakeUpstream();
      const d = await Driver.start({ claudePath: cli, warmSessions: 0, maxSessions: 1, maxQueue: 1, queueTimeoutMs: 700 },
        { ANTHROPIC_BASE_URL: up.url });
      try {
        d.startTurn('busy', user('[[slow:250]] [[long:40]]'));
        await d.next((m) => m.id === 'busy' && m.event);
        d.startTurn('queued', user('[[say:late]]'));
        const full = await d.turn('full', user('[[say:no room]]'));
        assert.equal(full.error.kind, 'queue_full');
        assert.equal(full.error.status, 429);
        assert.ok(full.error.retry_after_s > 0);
        const timedOut = await d.result('queued');
        assert.equal(timedOut.error.kind, 'queue_full');
        const busy = await d.result('busy');
        assert.equal(busy.done.stop_reason, 'end_turn');
      } finally {
        await d.stop();
        d.cleanup();
        await up.close();
      }
    });

    test('on shutdown every child is reaped and its files are removed', async () => {
      const up = await startFakeUpstream();
      const d = await Driver.start({ claudePath: cli, warmSessions: 2, maxSessions: 3 }, { ANTHROPIC_BASE_URL: up.url });
      try {
        const seeded = await d.turn('s1', { model: MODEL, max_tokens: 50, messages: [{ role: 'user', content: 'a' },
          { role: 'assistant', content: 'b' }, { role: 'user', content: '[[say:c]]' }] });
        assert.equal(text(seeded), 'c');
        const projects = path.join(d.configDir, 'projects');
        const transcripts = () => (fs.existsSync(projects) ? fs.readdirSync(projects, { recursive: true })
          .filter((f) => String(f).endsWith('.jsonl')) : []);
        assert.equal(transcripts().length, 1, 'the seeded transcript exists while its session lives');
        const pids = d.spawns().map((s) => Number(s.pid));
        assert.ok(pids.length >= 2);
        const r = await d.stop();
        assert.equal(r.code, 0, d.stderr.slice(-2000));
        assert.ok(d.lines.some((m) => m.shutdown === 'done'));
        for (const pid of pids) assert.equal(fs.existsSync(`/proc/${pid}`), false, `pid ${pid} still exists`);
        assert.deepEqual(fs.readdirSync(path.join(d.settings.stateDir, 'sessions')), []);
        assert.deepEqual(transcripts(), []);
      } finally {
        d.cleanup();
        await up.close();
      }
    });
  });

  describe(`agent mode with the real CLI ${version}`, { skip }, () => {
    for (const autoApproveTool of [false, true]) {
      test(`Claude Code's tools run in workDir only when autoApproveTool is ${autoApproveTool}`, async () => {
        const up = await startFakeUpstream();
        const d = await Driver.start({ claudePath: cli, warmSessions: 0, mode: 'agent', autoApproveTool, workDir: 'AUTO' },
          { ANTHROPIC_BASE_URL: up.url });
        try {
          const res = await d.turn('agent1', user('[[tool:Bash:{"command":"touch made-by-agent.txt"}]]'));
          assert.equal(res.error, undefined, JSON.stringify(res.error));
          assert.equal(fs.existsSync(path.join(d.settings.workDir, 'made-by-agent.txt')), autoApproveTool);
          if (!autoApproveTool) assert.match(text(res), /ERROR .*autoApproveTool is off/);
          assert.match(d.stderr, new RegExp(`session.permission .*tool=Bash allow=${autoApproveTool ? 1 : 0}`));
          assert.ok(res.done.content.every((b) => b.type === 'text'));
          // one client message spans both upstream calls (tool_use, then the answer)
          assert.equal(res.events.filter((e) => e.type === 'message_start').length, 1);
          assert.equal(up.turns().length, 2);
        } finally {
          await d.stop();
          d.cleanup();
          await up.close();
        }
      });
    }

    test("the client's tools are offered to the model directly, beside Claude Code's (no ToolSearch)", async () => {
      const up = await startFakeUpstream();
      const d = await Driver.start({ claudePath: cli, warmSessions: 0, mode: 'agent', workDir: 'AUTO' },
        { ANTHROPIC_BASE_URL: up.url });
      try {
        const tools = [{ name: 'get_weather', description: 'Current weather in a city',
          input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];
        const res = await d.turn('agenttools', user('[[tool:get_weather:{"city":"Paris"}]]', { tools }));
        assert.equal(res.error, undefined, JSON.stringify(res.error));
        const offered = up.turns()[0].body.tools.map((t) => t.name);
        assert.ok(offered.includes('mcp__client__get_weather'), offered.join(','));
        assert.ok(offered.includes('Bash'), offered.join(','));
        assert.ok(!offered.includes('ToolSearch'), offered.join(','));
        const call = res.done.content.find((b) => b.type === 'tool_use');
        assert.equal(call?.name, 'get_weather');
        assert.deepEqual(call.input, { city: 'Paris' });
        assert.equal(res.done.stop_reason, 'tool_use');
      } finally {
        await d.stop();
        d.cleanup();
        await up.close();
      }
    });
  });
}

describe('WebSocket transport with CLI 2.1.100', { skip: (!testsCli('2.1.100') && 'CLI 2.1.100 not chosen for this run')
  || (!fs.existsSync(CLI_100) && 'claude 2.1.100 not installed') }, () => {
  test('auto picks websocket; turns stream, prompts replace, history seeds, follow-ups reuse', async () => {
    const up = await startFakeUpstream();
    const d = await Driver.start({ claudePath: CLI_100, warmSessions: 1, wsPort: 0 }, { ANTHROPIC_BASE_URL: up.url });
    try {
      const st = await d.stats();
      assert.equal(st.transport, 'websocket');
      assert.match(st.transport_reason, /2\.1\.100/);
      const body = user('[[say:over the socket]]', { system: 'WS-SYSTEM-MARKER' });
      const r1 = await d.turn('ws1', body);
      assert.equal(text(r1), 'over the socket');
      const system = up.lastTurn().body.system.map((b) => b.text).join('\n');
      assert.match(system, /WS-SYSTEM-MARKER/);
      assert.doesNotMatch(system, /Claude Code/);
      const s1 = upstreamSession(up.lastTurn());
      const r2 = await d.turn('ws2', { ...body, messages: [...body.messages, { role: 'assistant', content: 'over the socket' },
        { role: 'user', content: '[[say:again]]' }] });
      assert.equal(text(r2), 'again');
      assert.equal(upstreamSession(up.lastTurn()), s1);
      const seeded = await d.turn('ws3', { model: MODEL, max_tokens: 50, messages: [{ role: 'user', content: 'A' },
        { role: 'assistant', content: 'B' }, { role: 'user', content: '[[say:C]]' }] });
      assert.equal(text(seeded), 'C');
      assert.deepEqual(up.lastTurn().body.messages.map(userText), ['A', 'B', '[[say:C]]']);
    } finally {
      const r = await d.stop();
      assert.equal(r?.code, 0);
      d.cleanup();
      await up.close();
    }
  });

  test('a CLI that refuses a loopback --sdk-url (2.1.197): stdio takes over and the turn is served', {
    skip: !fs.existsSync(CLI_197) && 'claude 2.1.197 not installed' }, async () => {
    const up = await startFakeUpstream();
    const d = await Driver.start({ claudePath: CLI_197, warmSessions: 0, transport: 'websocket', wsPort: 0 },
      { ANTHROPIC_BASE_URL: up.url });
    try {
      assert.equal((await d.stats()).transport, 'websocket');
      const res = await d.turn('refused1', user('[[say:over stdio]]'));
      assert.equal(res.error, undefined, JSON.stringify(res.error));
      assert.equal(text(res), 'over stdio');
      assert.match(d.stderr, /cli\.stderr .*--sdk-url rejected/);
      const st = await d.stats();
      assert.equal(st.transport, 'stdio');
      assert.match(st.transport_reason, /fell back to stdio: the Claude Code CLI exited \(status 1, signal 0\) before connecting/);
    } finally {
      const r = await d.stop();
      assert.equal(r?.code, 0);
      assert.deepEqual(d.sanitizerReports(), []);
      d.cleanup();
      await up.close();
    }
  });
});
