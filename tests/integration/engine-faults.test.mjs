// The engine against the fake CLI (tests/fakes/fake_cli.c): every fault a CLI can show, the pool's limits,
// the WebSocket fallback, and 500 spawn/kill cycles. Runs the engine without HTTP (tests/fakes/engine_driver).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Driver, streamedText, text } from './lib/engine-driver.mjs';
import { fakeCli, fdCount, hasSanitizer, isAlive, rssKb } from './lib/fake-cli.mjs';

const MODEL = 'claude-fake-1';
const user = (content, extra = {}) => ({ model: MODEL, max_tokens: 1024, messages: [{ role: 'user', content }], ...extra });
const followUp = (body, reply, content) => ({ ...body, messages: [...body.messages, { role: 'assistant', content: reply },
  { role: 'user', content }] });
const TOOLS = [{ name: 'lookup', description: 'Looks things up.', input_schema: { type: 'object', properties: { q: { type: 'string' } } } }];

// The session a request ran on, from the log.
const sessionIn = (d, requestId) => new RegExp(`session\\.turn session=(\\w+) request_id=${requestId} `).exec(d.stderr)?.[1];
// (the log comes on stderr, which may lag behind the driver's stdout)
async function sessionOf(d, requestId) {
  await d.until(() => sessionIn(d, requestId));
  return sessionIn(d, requestId);
}
const pidOf = (d, sessionId) => Number(new RegExp(`session\\.spawn session=${sessionId} pid=(\\d+)`).exec(d.stderr)?.[1]);
const closeReason = (d, sessionId) => new RegExp(`session\\.close session=${sessionId} pid=\\d+ reason="([^"]*)"`).exec(d.stderr)?.[1];

// A driver on a fresh fake CLI; stop() checks the exit and the sanitizers.
async function start(settings = {}, cliSettings = {}) {
  const cliDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-cli-'));
  const cli = fakeCli(cliDir, cliSettings);
  const d = await Driver.start({ warmSessions: 0, maxSessions: 2, defaultModel: MODEL, ...settings, claudePath: cli.path });
  d.cli = cli;
  d.cliDir = cliDir;
  return d;
}

async function stop(d) {
  const r = await d.stop();
  assert.equal(r?.code, 0, d.stderr.slice(-3000));
  assert.deepEqual(d.sanitizerReports(), []);
  for (const pid of d.cli.pids()) assert.equal(isAlive(pid), false, `fake CLI ${pid} survived the driver`);
  d.cleanup();
  fs.rmSync(d.cliDir, { recursive: true, force: true });
}

// A fault must end only its own session: that session's process is gone, and the next turn is served.
async function assertDiscardedAndNextWorks(d, requestId, nextId) {
  const sid = await sessionOf(d, requestId);
  assert.ok(sid, `no session for ${requestId}`);
  await d.until(() => closeReason(d, sid) !== undefined);
  const pid = pidOf(d, sid);
  await d.until(() => !isAlive(pid));
  const next = await d.turn(nextId, user(`[[say:after ${requestId}]]`));
  assert.equal(next.error, undefined, JSON.stringify(next.error));
  assert.equal(text(next), `after ${requestId}`);
  assert.notEqual(await sessionOf(d, nextId), sid);
}

describe('CLI faults mid-turn', () => {
  let d;
  before(async () => {
    d = await start({ stallTimeoutMs: 1000, toolResultTimeoutMs: 1500 });
  });
  after(async () => stop(d));

  test('a normal answer streams as one message', async () => {
    const res = await d.turn('ok1', user('[[say:plain answer]]'));
    assert.equal(res.error, undefined);
    assert.equal(text(res), 'plain answer');
    assert.equal(streamedText(res), 'plain answer');
    assert.deepEqual(res.events.map((e) => e.type), ['message_start', 'content_block_start', 'content_block_delta',
      'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    assert.equal(res.done.stop_reason, 'end_turn');
  });

  test('a crash mid-stream gives cli_failed after the events already sent; the session is discarded', async () => {
    const res = await d.turn('crash1', user('[[crash]]'));
    assert.equal(res.error?.kind, 'cli_failed', JSON.stringify(res));
    assert.equal(res.error.status, 502);
    assert.deepEqual(res.events.map((e) => e.type), ['message_start', 'content_block_start']);
    await assertDiscardedAndNextWorks(d, 'crash1', 'crash2');
    await d.until(() => /cli\.exit .*signal=9/.test(d.stderr));
  });

  test('an exit mid-stream gives cli_failed', async () => {
    const res = await d.turn('exit1', user('[[exit:7]]'));
    assert.equal(res.error?.kind, 'cli_failed');
    await assertDiscardedAndNextWorks(d, 'exit1', 'exit2');
    await d.until(() => /cli\.exit .*status=7/.test(d.stderr));
  });

  test('a garbage line is logged and skipped, the answer still arrives', async () => {
    const res = await d.turn('garbage1', user('[[garbage]] [[say:despite garbage]]'));
    assert.equal(res.error, undefined);
    assert.equal(text(res), 'despite garbage');
    assert.match(d.stderr, /session\.garbage_line .*utf8=0/);
  });

  test('a flood of garbage gives cli_failed', async () => {
    const res = await d.turn('flood1', user('[[garbage_flood:500]]'));
    assert.equal(res.error?.kind, 'cli_failed');
    assert.match(res.error.message, /garbage/);
    await assertDiscardedAndNextWorks(d, 'flood1', 'flood2');
  });

  test('a 5 MB line arrives whole', async () => {
    const size = 5 * 1024 * 1024;
    const res = await d.turn('big1', user(`[[big:${size}]]`, { max_tokens: size }), {}, 120000);
    assert.equal(res.error, undefined);
    assert.equal(text(res).length, size);
    assert.equal(streamedText(res).length, size);
  });

  test('one large line arriving slowly is not silence', async () => {
    // One 15 KiB line in 15 writes 200 ms apart: 3 s for the line, three times stallTimeoutMs, never silent 1 s.
    const res = await d.turn('slowline1', user('[[slowline:15:200]]', { max_tokens: 100000 }));
    assert.equal(res.error, undefined);
    assert.equal(text(res).length, 15 * 1024);
  });

  test('the stall timeout measures silence, not length', async () => {
    // 15 deltas 200 ms apart: 3 s in all, three times stallTimeoutMs, never silent for 1 s
    const long = await d.turn('stall1', user('[[slow:15:200]]'));
    assert.equal(long.error, undefined);
    assert.equal(text(long).split(' ').filter(Boolean).length, 15);
    const silent = await d.turn('stall2', user('[[stall]]'));
    assert.equal(silent.error?.kind, 'timeout');
    assert.equal(silent.error.status, 504);
    assert.match(silent.error.message, /silent for 1000 ms/);
    await assertDiscardedAndNextWorks(d, 'stall2', 'stall3');
  });

  test("api mode: the CLI's own tools are denied, the client's MCP tools allowed", async () => {
    const denied = await d.turn('perm1', user('[[permission:Bash]]'));
    assert.equal(text(denied), 'deny: Bash is not available.');
    // the log line travels on stderr, the answer on stdout: wait for the pipe that may be behind
    await d.until(() => /session\.permission .*tool=Bash allow=0/.test(d.stderr));
    assert.match(d.stderr, /session\.permission .*tool=Bash allow=0/);
    const allowed = await d.turn('perm2', user('[[permission:mcp__client__lookup]]'));
    assert.equal(text(allowed), 'allow');
  });

  test('a cancelled turn sends interrupt; the CLI reports back and the process is recycled', async () => {
    const res = await d.turn('int1', user('[[slow:100:50]]'), { cancel_after_events: 4 });
    assert.equal(res.cancelled, true);
    const sid = await sessionOf(d, 'int1');
    await d.until(() => closeReason(d, sid) !== undefined);
    assert.equal(closeReason(d, sid), 'turn interrupted');
    assert.match(d.stderr, new RegExp(`cli\\.stderr session=${sid} pid=\\d+ text="fake_cli: interrupt received"`));
    assert.equal(d.lines.filter((m) => m.id === 'int1' && m.event).length, 4, 'no event after the cancel');
    await assertDiscardedAndNextWorks(d, 'int1', 'int2');
  });

  test('a CLI that ignores the interrupt is ended after the drain period', async () => {
    const res = await d.turn('deaf1', user('[[slow:400:50]] [[ignore_interrupt]]'), { cancel_after_events: 3 });
    assert.equal(res.cancelled, true);
    const sid = await sessionOf(d, 'deaf1');
    await d.until(() => closeReason(d, sid) !== undefined, 15000);
    assert.equal(closeReason(d, sid), 'interrupted turn did not end');
    await assertDiscardedAndNextWorks(d, 'deaf1', 'deaf2');
  });

  test("a client tool call ends the response at the tool_use and parks the session until toolResultTimeoutMs", async () => {
    const res = await d.turn('tool1', user('[[tool:lookup:{"q":"x"}]]', { tools: TOOLS }));
    assert.equal(res.error, undefined, JSON.stringify(res.error));
    assert.equal(res.done.stop_reason, 'tool_use');
    const call = res.done.content.find((b) => b.type === 'tool_use');
    assert.equal(call.name, 'lookup');
    assert.deepEqual(call.input, { q: 'x' });
    const sid = await sessionOf(d, 'tool1');
    assert.equal((await d.sessions()).find((s) => s.id === sid)?.state, 'waiting');
    await d.until(() => closeReason(d, sid) !== undefined);
    assert.equal((await d.sessions()).some((s) => s.id === sid && s.state !== 'closing'), false);
  });
});

describe('CLI faults at start-up', () => {
  test('a CLI that never answers initialize gives timeout; the next process is used', async () => {
    const d = await start({ startTimeoutMs: 800 }, { mode: 'never_ready', once: true });
    try {
      const res = await d.turn('never1', user('[[say:x]]'));
      assert.equal(res.error?.kind, 'timeout');
      assert.equal(res.error.status, 504);
      assert.match(res.error.message, /did not start within 800 ms/);
      await assertDiscardedAndNextWorks(d, 'never1', 'never2');
    } finally {
      await stop(d);
    }
  });

  test('a CLI that exits at start gives cli_failed, its stderr is logged; the next process is used', async () => {
    const d = await start({}, { mode: 'exit_at_start', once: true });
    try {
      const res = await d.turn('dead1', user('[[say:x]]'));
      assert.equal(res.error?.kind, 'cli_failed');
      assert.match(d.stderr, /cli\.stderr .*text="fake_cli: exiting at start as told"/);
      await assertDiscardedAndNextWorks(d, 'dead1', 'dead2');
    } finally {
      await stop(d);
    }
  });

  test('a warm process that dies unused is replaced after a back-off', async () => {
    const d = await start({ warmSessions: 1 }, { mode: 'exit_at_start', once: true });
    try {
      await d.until(() => d.spawns().length >= 2);
      await d.until(() => /pool\.warm_backoff failures=1 delay_ms=1000/.test(d.stderr));
      const res = await d.turn('warm1', user('[[say:warm]]'));
      assert.equal(text(res), 'warm');
    } finally {
      await stop(d);
    }
  });

  test('CLIs that ignore SIGTERM and stdin EOF are killed: no child survives the engine', async () => {
    const d = await start({ warmSessions: 2, maxSessions: 3 }, { mode: 'stubborn' });
    const res = await d.turn('stub1', user('[[say:stubborn]]'));
    assert.equal(text(res), 'stubborn');
    await d.until(() => d.cli.pids().length >= 3);
    const pids = d.cli.pids();
    assert.ok(pids.every(isAlive));
    await stop(d); // asserts that every pid is gone
    assert.ok(d.stderr.includes('cli.kill'), 'SIGKILL was needed');
  });
});

describe('pool limits with the fake CLI', () => {
  test('queue full gives queue_full with retry_after; a queued request times out into queue_full', async () => {
    const d = await start({ maxSessions: 1, maxQueue: 1, queueTimeoutMs: 500 });
    try {
      d.startTurn('busy', user('[[slow:30:100]]'));
      await d.next((m) => m.id === 'busy' && m.event);
      d.startTurn('queued', user('[[say:late]]'));
      await d.until(() => /pool\.queued request_id=queued/.test(d.stderr));
      const full = await d.turn('full', user('[[say:no room]]'));
      assert.equal(full.error.kind, 'queue_full');
      assert.equal(full.error.status, 429);
      assert.ok(full.error.retry_after_s > 0);
      const late = await d.result('queued');
      assert.equal(late.error.kind, 'queue_full');
      assert.ok(late.error.retry_after_s > 0);
      assert.match(late.error.message, /stayed busy for 500 ms/);
      const busy = await d.result('busy');
      assert.equal(busy.done.stop_reason, 'end_turn');
      // a queued request is served once the process is free
      d.startTurn('busy2', user('[[slow:3:50]]'));
      await d.next((m) => m.id === 'busy2' && m.event);
      const waited = await d.turn('waited', user('[[say:served]]'));
      assert.equal(text(waited), 'served');
    } finally {
      await stop(d);
    }
  });

  test('to make room the least recently used idle session is evicted', async () => {
    const d = await start({ maxSessions: 2 });
    try {
      const a = user('[[say:A1]]', { system: 'conversation A' });
      const b = user('[[say:B1]]', { system: 'conversation B' });
      assert.equal(text(await d.turn('a1', a)), 'A1');
      assert.equal(text(await d.turn('b1', b)), 'B1');
      // A is used again: B is now the least recently used
      assert.equal(text(await d.turn('a2', followUp(a, 'A1', '[[say:A2]]'))), 'A2');
      assert.equal(await sessionOf(d, 'a2'), await sessionOf(d, 'a1'));
      assert.equal(text(await d.turn('c1', user('[[say:C1]]', { system: 'conversation C' }))), 'C1');
      const b1 = await sessionOf(d, 'b1');
      await d.until(() => closeReason(d, b1));
      assert.equal(closeReason(d, b1), 'evicted to make room');
      assert.equal(closeReason(d, await sessionOf(d, 'a1')), undefined);
      // A is still there to continue
      const a3 = await d.turn('a3', followUp(followUp(a, 'A1', '[[say:A2]]'), 'A2', '[[say:A3]]'));
      assert.equal(text(a3), 'A3');
      assert.equal(await sessionOf(d, 'a3'), await sessionOf(d, 'a1'));
      // the fake CLI got only the new user turns, never the history again
      const pidA = pidOf(d, await sessionOf(d, 'a1'));
      const userLines = d.cli.log().filter((e) => e.in === 'user' && e.pid === pidA);
      assert.deepEqual(userLines.map((e) => e.text), ['[[say:A1]]', '[[say:A2]]', '[[say:A3]]']);
    } finally {
      await stop(d);
    }
  });

  test('an idle session is ended after sessionTimeoutMs', async () => {
    const d = await start({ sessionTimeoutMs: 400 });
    try {
      assert.equal(text(await d.turn('idle1', user('[[say:then idle]]'))), 'then idle');
      const sid = await sessionOf(d, 'idle1');
      await d.until(() => closeReason(d, sid) !== undefined);
      assert.equal(closeReason(d, sid), 'idle timeout');
      await d.until(() => !isAlive(pidOf(d, sid)));
      assert.equal((await d.stats()).live, 0);
    } finally {
      await stop(d);
    }
  });
});

describe('transport choice and start-up differences', () => {
  test('a WebSocket CLI that never connects: stdio takes over, the waiting turn is served, stats say why', async () => {
    const d = await start({ warmSessions: 2, maxSessions: 3, startTimeoutMs: 1000, wsPort: 0 },
      { version: '2.1.100', mode: 'stubborn' });
    try {
      const before = await d.stats();
      assert.equal(before.transport, 'websocket');
      assert.match(before.transport_reason, /auto: CLI 2\.1\.100 <= 2\.1\.120/);
      const res = await d.turn('fb1', user('[[say:over stdio after all]]'));
      assert.equal(res.error, undefined, JSON.stringify(res.error));
      assert.equal(text(res), 'over stdio after all');
      assert.match(d.stderr, /session\.turn_bounced/);
      const st = await d.stats();
      assert.equal(st.transport, 'stdio');
      assert.match(st.transport_reason, /fell back to stdio: the Claude Code CLI did not connect to the WebSocket within 1000 ms/);
      assert.match(d.stderr, /engine\.transport_fallback transport=stdio/);
      // each WebSocket child had its own URL path and its own token, and no token reached the log
      const wsStarts = d.cli.starts().filter((s) => s.sdk_url);
      assert.ok(wsStarts.length >= 2);
      assert.equal(new Set(wsStarts.map((s) => s.sdk_url)).size, wsStarts.length);
      assert.equal(new Set(wsStarts.map((s) => s.token)).size, wsStarts.length);
      for (const s of wsStarts) assert.match(s.sdk_url, /^ws:\/\/127\.0\.0\.1:\d+\/session\/\w+$/);
      assert.ok(wsStarts.every((s) => s.token.length >= 32));
      for (const s of wsStarts) assert.ok(!d.stderr.includes(s.token));
      // later processes are spawned on stdio, without a token
      assert.ok(d.cli.starts().filter((s) => !s.sdk_url).every((s) => !s.token));
    } finally {
      await stop(d);
    }
  });

  test('a WebSocket CLI that exits before connecting: stdio takes over at once', async () => {
    const d = await start({ wsPort: 0 }, { version: '2.1.120' });
    try {
      const res = await d.turn('fb2', user('[[say:fine]]'));
      assert.equal(text(res), 'fine');
      const st = await d.stats();
      assert.equal(st.transport, 'stdio');
      assert.match(st.transport_reason, /exited \(status 0, signal 0\) before connecting/);
    } finally {
      await stop(d);
    }
  });

  test('a CLI that ignores initialize systemPrompt gets it in a file at spawn, never on argv', async () => {
    const d = await start({ warmSessions: 1, transport: 'stdio' }, { version: '2.1.39' });
    try {
      await d.until(() => d.cli.pids().length === 1);
      const res = await d.turn('old1', user('[[echo_system]]', { system: 'OLD-CLI-SYSTEM\nline two' }));
      assert.equal(text(res), 'file=OLD-CLI-SYSTEM\nline two|init=(none)');
      const argv = d.cli.starts().at(-1).argv;
      assert.ok(argv.includes('--system-prompt-file'));
      assert.ok(!argv.some((a) => a.includes('OLD-CLI-SYSTEM')));
      // the warm process was spawned without a prompt: it did not take this request...
      assert.equal(d.spawns().filter((s) => s.warm === '0').length, 1);
      // ...but takes one without a system prompt
      const plain = await d.turn('old2', user('[[echo_system]]'));
      assert.equal(text(plain), 'file=|init=(none)');
      assert.equal(d.spawns().filter((s) => s.warm === '0').length, 1);
    } finally {
      await stop(d);
    }
  });

  test('a current CLI gets the system prompt in initialize, and nothing at spawn', async () => {
    const d = await start({ warmSessions: 1 });
    try {
      await d.until(() => d.cli.pids().length === 1);
      const res = await d.turn('new1', user('[[echo_system]]', { system: 'NEW-CLI-SYSTEM' }));
      assert.equal(text(res), 'file=(none)|init=NEW-CLI-SYSTEM');
      assert.equal(d.spawns().filter((s) => s.warm === '0').length, 0, 'the warm process served it');
      assert.ok(!d.cli.starts()[0].argv.includes('--system-prompt-file'));
    } finally {
      await stop(d);
    }
  });

  for (const autoApproveTool of [false, true]) {
    test(`agent mode: can_use_tool is ${autoApproveTool ? 'allowed' : 'denied'} when autoApproveTool is ${autoApproveTool}`, async () => {
      const d = await start({ mode: 'agent', autoApproveTool, workDir: 'AUTO' });
      try {
        const res = await d.turn('agent1', user('[[permission:Bash]]'));
        assert.equal(text(res), autoApproveTool ? 'allow' : 'deny: The proxy does not allow Bash (autoApproveTool is off).');
        // agent mode keeps Claude Code's tools: no --tools "" on the command line
        assert.ok(!d.cli.starts()[0].argv.includes('--tools'));
      } finally {
        await stop(d);
      }
    });
  }
});

describe('endurance', () => {
  test('500 spawn/kill cycles leave no file descriptor, child or memory behind', { timeout: 600000 }, async () => {
    const d = await start({ maxSessions: 1 });
    try {
      const pid = d.pid;
      const cycle = async (i) => {
        // a new conversation each time: the idle session of the last one is evicted (killed) to make room
        const res = await d.turn(`cycle${i}`, user(`[[say:n${i}]]`, { system: `cycle ${i}` }));
        assert.equal(text(res), `n${i}`, JSON.stringify(res.error));
      };
      const settle = async () => {
        // every evicted child reaped: one exit per spawn but the live one
        await d.until(() => d.logCount('cli.exit') === d.spawns().length - 1);
      };
      for (let i = 0; i < 20; i++) await cycle(i);
      await settle();
      const fdsBefore = fdCount(pid);
      const rssBefore = rssKb(pid);
      for (let i = 20; i < 500; i++) await cycle(i);
      await settle();
      const fdsAfter = fdCount(pid);
      const rssAfter = rssKb(pid);
      assert.equal(d.spawns().length, 500);
      assert.equal(fdsAfter, fdsBefore, `fds ${fdsBefore} → ${fdsAfter}`);
      const live = d.cli.pids().filter(isAlive);
      assert.equal(live.length, 1, `live children: ${live}`);
      // ASan keeps freed memory in quarantine, so RSS says nothing there; LeakSanitizer checks at exit.
      if (!hasSanitizer(pid)) assert.ok(rssAfter - rssBefore < 8 * 1024, `RSS ${rssBefore} kB → ${rssAfter} kB`);
      console.log(`# 480 cycles: fds ${fdsBefore} → ${fdsAfter}, RSS ${rssBefore} → ${rssAfter} kB`);
    } finally {
      await stop(d);
    }
  });
});
