// The WebSocket transport (src/transport/websocket*.c) through tests/fakes/ws_test_host.c, driven by a
// hand-written WebSocket client and by the real CLI (`claude --sdk-url`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { OP, encodeFrame, wsConnect } from './lib/ws-client.mjs';

const BUILD_DIR = process.env.BUILD_DIR ?? path.resolve('build');
const SOURCE_DIR = process.env.SOURCE_DIR ?? path.resolve('.');
const HOST_BIN = path.join(BUILD_DIR, 'ws_test_host');
const CLI = path.join(SOURCE_DIR, '.deps/claude-2.1.100/node_modules/.bin/claude');
const { EMSGSIZE, ECONNRESET, ECANCELED, EPROTO, ENOBUFS } = os.constants.errno;

class Host {
  static async start(args = []) {
    const h = new Host(args);
    h.port = (await h.next((e) => e.event === 'listening')).port;
    return h;
  }

  constructor(args) {
    this.events = [];
    this.used = new Set();
    this.waiters = [];
    this.stderr = '';
    this.proc = spawn(HOST_BIN, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.exit = new Promise((resolve) =>
      this.proc.on('exit', (code, signal) => {
        this.exited = true;
        this.#wake();
        resolve({ code, signal });
      }),
    );
    this.proc.stderr.on('data', (d) => {
      this.stderr += d;
      this.#wake();
    });
    readline.createInterface({ input: this.proc.stdout }).on('line', (l) => {
      this.events.push(JSON.parse(l));
      this.#wake();
    });
  }

  #wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  // The first event not handed out yet that matches.
  async next(pred) {
    for (;;) {
      const i = this.events.findIndex((e, k) => !this.used.has(k) && pred(e));
      if (i >= 0) {
        this.used.add(i);
        return this.events[i];
      }
      if (this.exited) throw new Error(`host exited; stderr:\n${this.stderr}`);
      await new Promise((r) => this.waiters.push(r));
    }
  }

  // The host's log lines (stderr) are the only sign of a drop: the transport API has no event for it.
  async logged(re) {
    while (!re.test(this.stderr)) {
      if (this.exited) throw new Error(`host exited; stderr:\n${this.stderr}`);
      await new Promise((r) => this.waiters.push(r));
    }
  }

  session(index = 0) {
    return this.next((e) => e.event === 'session' && e.index === index);
  }

  count(pred) {
    return this.events.filter(pred).length;
  }

  send(cmd) {
    this.proc.stdin.write(JSON.stringify(cmd) + '\n');
  }

  // Quit closes every transport and the server; the process must exit 0 (no leak under ASan).
  async quit() {
    this.proc.stdin.end();
    const { code, signal } = await this.exit;
    assert.equal(signal, null, this.stderr);
    assert.equal(code, 0, this.stderr);
    assert.ok(this.events.some((e) => e.event === 'server_closed'));
  }
}

async function openClient(host, index = 0) {
  const s = await host.session(index);
  const r = await wsConnect(host.port, s.path, { token: s.token });
  assert.equal(r.status, 101);
  return { session: s, client: r.client };
}

const echoOf = (line) => JSON.stringify({ echo: line }) + '\n';

test('correct token opens the session and each line comes back as one text frame', async () => {
  const host = await Host.start();
  const { client } = await openClient(host);
  await host.next((e) => e.event === 'open' && e.index === 0);
  client.sendText('{"a":1}\n');
  assert.equal(await client.nextText(), echoOf('{"a":1}'));
  // several lines in one frame: one echo frame each, in order
  client.sendText('{"b":2}\n{"c":3}\n\n{"d":4}\n');
  for (const l of ['{"b":2}', '{"c":3}', '{"d":4}']) assert.equal(await client.nextText(), echoOf(l));
  // a line split across two frames
  client.sendText('{"split":');
  client.sendText('true}\n');
  assert.equal(await client.nextText(), echoOf('{"split":true}'));
  await host.quit();
  assert.equal(host.count((e) => e.event === 'open'), 1);
});

test('a fragmented message with a ping between its fragments is reassembled', async () => {
  const host = await Host.start();
  const { client } = await openClient(host);
  client.send({ opcode: OP.TEXT, fin: false, payload: '{"frag' });
  client.send({ opcode: OP.PING, payload: 'hi' });
  client.send({ opcode: OP.CONT, fin: false, payload: 'ment":' });
  client.send({ opcode: OP.CONT, fin: true, payload: '1}\n' });
  const pong = await client.nextFrame();
  assert.equal(pong.opcode, OP.PONG);
  assert.equal(pong.payload.toString(), 'hi');
  assert.equal(await client.nextText(), echoOf('{"fragment":1}'));
  await host.quit();
});

test('ping is answered with a pong carrying the same payload', async () => {
  const host = await Host.start();
  const { client } = await openClient(host);
  client.send({ opcode: OP.PING, payload: 'abc123' });
  const f = await client.nextFrame();
  assert.equal(f.opcode, OP.PONG);
  assert.equal(f.payload.toString(), 'abc123');
  await host.quit();
});

test('wrong or missing token gets 401, unknown path 404, a second connection 409', async () => {
  const host = await Host.start(['--sessions', '2']);
  const s0 = await host.session(0);
  const s1 = await host.session(1);
  const wrong = await wsConnect(host.port, s0.path, { token: s0.token + 'x' });
  assert.equal(wrong.status, 401);
  await wrong.closed;
  // the other session's token does not open this one
  assert.equal((await wsConnect(host.port, s0.path, { token: s1.token })).status, 401);
  const missing = await wsConnect(host.port, s0.path);
  assert.equal(missing.status, 401);
  assert.equal(missing.headers['www-authenticate'], 'Bearer');
  const unknown = await wsConnect(host.port, '/session/0123456789abcdef0123456789abcdef', { token: s0.token });
  assert.equal(unknown.status, 404);
  // a browser page (Origin) is refused even with the token
  assert.equal((await wsConnect(host.port, s0.path, { token: s0.token, headers: { Origin: 'http://x' } })).status, 403);
  const first = await wsConnect(host.port, s0.path, { token: s0.token });
  assert.equal(first.status, 101);
  const second = await wsConnect(host.port, s0.path, { token: s0.token });
  assert.equal(second.status, 409);
  // the first connection is unharmed
  first.client.sendText('{"still":"here"}\n');
  assert.equal(await first.client.nextText(), echoOf('{"still":"here"}'));
  await host.quit();
  assert.equal(host.count((e) => e.event === 'open'), 1);
});

test('a frame over the frame limit gets close 1009 and on_closed(-EMSGSIZE)', async () => {
  const host = await Host.start(['--max-frame', '1024']);
  const { client } = await openClient(host);
  client.sendText('x'.repeat(2000));
  assert.deepEqual(await client.closeFrame(), { code: 1009 });
  assert.equal((await host.next((e) => e.event === 'closed')).reason, -EMSGSIZE);
  await host.quit();
});

test('a message over the limit in small fragments, or a line longer than it, gets 1009', async () => {
  const host = await Host.start(['--sessions', '2', '--max-frame', '1000', '--max-message', '2500']);
  const a = await openClient(host, 0);
  for (let i = 0; i < 3; i++) a.client.send({ opcode: i ? OP.CONT : OP.TEXT, fin: false, payload: 'y'.repeat(900) });
  assert.deepEqual(await a.client.closeFrame(), { code: 1009 });
  assert.equal((await host.next((e) => e.event === 'closed' && e.index === 0)).reason, -EMSGSIZE);
  // separate small messages that never finish their line
  const b = await openClient(host, 1);
  b.client.sendText('{"fine":1}\n');
  assert.equal(await b.client.nextText(), echoOf('{"fine":1}'));
  for (let i = 0; i < 3; i++) b.client.sendText('z'.repeat(900));
  assert.deepEqual(await b.client.closeFrame(), { code: 1009 });
  assert.equal((await host.next((e) => e.event === 'closed' && e.index === 1)).reason, -EMSGSIZE);
  await host.quit();
});

test('a reconnect within the window resumes the session without a second open', async () => {
  const host = await Host.start(['--reconnect-ms', '60000']);
  const { session, client } = await openClient(host);
  await host.next((e) => e.event === 'open');
  client.sendText('{"n":1}\n');
  assert.equal(await client.nextText(), echoOf('{"n":1}'));
  client.drop();
  // a reconnect before the server noticed the drop may be refused as a duplicate: retry like the CLI does
  let again;
  for (;;) {
    again = await wsConnect(host.port, session.path, { token: session.token });
    if (again.status === 101) break;
    assert.equal(again.status, 409);
    await again.closed;
  }
  again.client.sendText('{"n":2}\n');
  assert.equal(await again.client.nextText(), echoOf('{"n":2}'));
  assert.equal(host.count((e) => e.event === 'open'), 1);
  assert.equal(host.count((e) => e.event === 'closed'), 0);
  await host.quit();
});

test('lines sent while the CLI is away are delivered after it reconnects', async () => {
  const host = await Host.start(['--reconnect-ms', '60000', '--no-echo']);
  const s = await host.session(0);
  // before the first connection
  host.send({ cmd: 'send', index: 0, line: '{"early":1}' });
  assert.equal((await host.next((e) => e.event === 'sent')).rc, 0);
  const first = await wsConnect(host.port, s.path, { token: s.token });
  assert.equal(await first.client.nextText(), '{"early":1}\n');
  // after a drop
  first.client.drop();
  await host.logged(/ws\.dropped session=/);
  host.send({ cmd: 'send', index: 0, line: '{"late":2}' });
  host.send({ cmd: 'send', index: 0, line: '{"late":3}' });
  assert.equal((await host.next((e) => e.event === 'sent')).rc, 0);
  assert.equal((await host.next((e) => e.event === 'sent')).rc, 0);
  const again = await wsConnect(host.port, s.path, { token: s.token });
  assert.equal(again.status, 101);
  assert.equal(await again.client.nextText(), '{"late":2}\n');
  assert.equal(await again.client.nextText(), '{"late":3}\n');
  await host.quit();
});

test('lines beyond the send queue limit are refused with -ENOBUFS', async () => {
  const host = await Host.start(['--max-send-queue', '90', '--no-echo']);
  const s = await host.session(0);
  const line = JSON.stringify({ pad: 'p'.repeat(30) }); // 41 bytes + '\n' + record header
  host.send({ cmd: 'send', index: 0, line });
  assert.equal((await host.next((e) => e.event === 'sent')).rc, 0);
  host.send({ cmd: 'send', index: 0, line });
  assert.equal((await host.next((e) => e.event === 'sent')).rc, -ENOBUFS);
  const { client } = await wsConnect(host.port, s.path, { token: s.token });
  assert.equal(await client.nextText(), line + '\n');
  await host.quit();
});

test('frames sent right behind the upgrade request are not lost', async () => {
  const host = await Host.start();
  const s = await host.session(0);
  const early = Buffer.concat([encodeFrame({ payload: '{"hasty":1}\n' }), encodeFrame({ payload: '{"hasty":2}\n' })]);
  const { client } = await wsConnect(host.port, s.path, { token: s.token, early });
  assert.equal(await client.nextText(), echoOf('{"hasty":1}'));
  assert.equal(await client.nextText(), echoOf('{"hasty":2}'));
  await host.quit();
});

test('a multi-megabyte line arrives whole, in one frame or in many', async () => {
  const host = await Host.start();
  const { client } = await openClient(host);
  const big = JSON.stringify({ image: 'i'.repeat(3 << 20) });
  client.sendText(big + '\n');
  assert.equal(await client.nextText(), echoOf(big));
  for (let off = 0; off < big.length; off += 100000) client.sendText(big.slice(off, off + 100000));
  client.sendText('\n');
  assert.equal(await client.nextText(), echoOf(big));
  await host.quit();
});

test('a protocol error (unmasked client frame) gets close 1002 and on_closed(-EPROTO)', async () => {
  const host = await Host.start();
  const { client } = await openClient(host);
  client.socket.write(encodeFrame({ payload: '{"a":1}\n', mask: false }));
  assert.deepEqual(await client.closeFrame(), { code: 1002 });
  assert.equal((await host.next((e) => e.event === 'closed')).reason, -EPROTO);
  await host.quit();
});

test('no reconnect within the window: on_closed(-ECONNRESET), later connects refused', async () => {
  const host = await Host.start(['--reconnect-ms', '200']);
  const { session, client } = await openClient(host);
  await host.next((e) => e.event === 'open');
  client.drop();
  assert.equal((await host.next((e) => e.event === 'closed')).reason, -ECONNRESET);
  const late = await wsConnect(host.port, session.path, { token: session.token });
  assert.equal(late.status, 410);
  host.send({ cmd: 'send', index: 0, line: '{"x":1}' });
  assert.ok((await host.next((e) => e.event === 'sent')).rc < 0);
  await host.quit();
});

test('transport_close sends the close code and refuses later connects', async () => {
  const host = await Host.start();
  const { session, client } = await openClient(host);
  await host.next((e) => e.event === 'open');
  host.send({ cmd: 'close', index: 0 });
  assert.deepEqual(await client.closeFrame(), { code: 4001 });
  const late = await wsConnect(host.port, session.path, { token: session.token });
  assert.equal(late.status, 404);
  await host.quit();
  assert.equal(host.count((e) => e.event === 'closed'), 0); // no events after transport_close
});

test('a paused transport holds lines but still answers pings, and delivers them once resumed', async () => {
  const host = await Host.start();
  const { client } = await openClient(host);
  host.send({ cmd: 'pause', index: 0, paused: true });
  await host.next((e) => e.event === 'paused');
  client.sendText('{"p":1}\n{"p":2}\n');
  client.send({ opcode: OP.PING, payload: 'still there?' });
  // The pong proves the server read past the lines; the barrier that every earlier event precedes.
  assert.equal((await client.nextFrame()).opcode, OP.PONG);
  host.send({ cmd: 'barrier' });
  await host.next((e) => e.event === 'barrier');
  assert.equal(host.count((e) => e.event === 'line'), 0);
  host.send({ cmd: 'pause', index: 0, paused: false });
  assert.equal(await client.nextText(), echoOf('{"p":1}'));
  assert.equal(await client.nextText(), echoOf('{"p":2}'));
  await host.quit();
});

test('a silent connection gets 408 after the handshake timeout', async () => {
  const host = await Host.start(['--handshake-ms', '100']);
  const socket = net.connect(host.port, '127.0.0.1');
  let answer = '';
  socket.on('data', (d) => (answer += d));
  await new Promise((r) => socket.on('close', r));
  assert.match(answer, /^HTTP\/1\.1 408 /);
  await host.quit();
});

test('server close ends live sessions with -ECANCELED and closes their sockets', async () => {
  const host = await Host.start();
  const { client } = await openClient(host);
  await host.next((e) => e.event === 'open');
  host.send({ cmd: 'close_server' });
  assert.deepEqual(await client.closeFrame(), { code: 4001 });
  assert.equal((await host.next((e) => e.event === 'closed')).reason, -ECANCELED);
  await host.next((e) => e.event === 'server_closed');
  host.send({ cmd: 'send', index: 0, line: '{"x":1}' });
  assert.ok((await host.next((e) => e.event === 'sent')).rc < 0);
  await host.quit();
});

// ---- the real CLI ----

async function closedPort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

// A TCP relay between the CLI and the host, so the test can cut the CLI's socket.
async function startRelay(targetPort) {
  const pairs = new Set();
  const firstChunks = [];
  const server = net.createServer((down) => {
    const up = net.connect(targetPort, '127.0.0.1');
    const pair = { down, up };
    pairs.add(pair);
    down.once('data', (d) => firstChunks.push(d.toString()));
    down.pipe(up);
    up.pipe(down);
    const end = () => {
      down.destroy();
      up.destroy();
      pairs.delete(pair);
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  let connections = 0;
  let waiters = [];
  server.on('connection', () => {
    connections++;
    for (const w of waiters) w();
    waiters = [];
  });
  return {
    port: server.address().port,
    firstChunks,
    async connection(n) {
      while (connections < n) await new Promise((r) => waiters.push(r));
    },
    cutAll: () => {
      for (const p of pairs) {
        p.down.destroy();
        p.up.destroy();
      }
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

test('the real CLI connects with its bearer token, answers initialize, survives a drop, exits on 4001',
  { skip: !fs.existsSync(CLI) && 'claude 2.1.100 not installed' }, async () => {
    const host = await Host.start(['--no-echo', '--reconnect-ms', '30000']);
    const s = await host.session(0);
    const relay = await startRelay(host.port);
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-cli-'));
    const url = `ws://127.0.0.1:${relay.port}${s.path}`;
    const cli = spawn(CLI, ['--sdk-url', url, '-p', 'x', '--input-format', 'stream-json', '--output-format',
      'stream-json', '--verbose'], {
      env: {
        PATH: process.env.PATH,
        HOME: home,
        CLAUDE_CONFIG_DIR: path.join(home, '.claude'),
        CLAUDE_CODE_SESSION_ACCESS_TOKEN: s.token,
        ANTHROPIC_BASE_URL: `http://127.0.0.1:${await closedPort()}`,
        ANTHROPIC_API_KEY: 'sk-test',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let cliErr = '';
    cli.stderr.on('data', (d) => (cliErr += d));
    const cliExit = new Promise((r) => cli.on('exit', (code, signal) => r({ code, signal })));
    try {
      await host.next((e) => e.event === 'open');
      const upgrade = relay.firstChunks[0];
      assert.match(upgrade, new RegExp(`^GET ${s.path} HTTP/1.1\r\n`));
      assert.ok(upgrade.includes(`Authorization: Bearer ${s.token}\r\n`));
      assert.match(upgrade, /Sec-WebSocket-Version: 13\r\n/);

      const init = (id) => JSON.stringify({ type: 'control_request', request_id: id, request: { subtype: 'initialize' } });
      const responseTo = (id) => (e) => {
        if (e.event !== 'line') return false;
        const m = JSON.parse(e.line);
        return m.type === 'control_response' && m.response?.request_id === id;
      };
      host.send({ cmd: 'send', index: 0, line: init('init-1') });
      const first = JSON.parse((await host.next(responseTo('init-1'))).line);
      assert.equal(first.response.subtype, 'success');

      // Cut the socket: the CLI reconnects by itself (about 1 s later) and the session goes on.
      relay.cutAll();
      await relay.connection(2);
      host.send({ cmd: 'send', index: 0, line: init('init-2') });
      await host.next(responseTo('init-2'));
      assert.equal(host.count((e) => e.event === 'open'), 1);
      assert.equal(host.count((e) => e.event === 'closed'), 0);

      // Ending the transport sends 4001, which the CLI takes as final: it exits on its own.
      host.send({ cmd: 'close', index: 0 });
      const { code } = await cliExit;
      assert.equal(code, 0, cliErr);
    } finally {
      cli.kill('SIGKILL');
      await cliExit;
      fs.rmSync(home, { recursive: true, force: true });
      await relay.close();
      await host.quit();
    }
  });
