// Runs tests/fakes/engine_driver (the real engine, no HTTP) and speaks its line protocol.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const BUILD_DIR = process.env.BUILD_DIR || path.resolve('build');
const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve('.');
export const DRIVER_BIN = path.join(BUILD_DIR, 'engine_driver');
export const FAKE_CLI_BIN = path.join(BUILD_DIR, 'fake_cli');
export * from './cli-versions.mjs';

export class Driver {
  // settings: config.json keys (claudePath, warmSessions, ...). env: extra environment for the driver.
  static async start(settings, env = {}) {
    const d = new Driver(settings, env);
    await d.next((m) => m.ready);
    return d;
  }

  constructor(settings, env) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-test-'));
    this.configDir = path.join(this.dir, 'config');
    fs.mkdirSync(this.configDir);
    this.settings = { stateDir: path.join(this.dir, 'state'), claudeConfigDir: this.configDir, ...settings };
    if (this.settings.workDir === 'AUTO') {
      this.settings.workDir = path.join(this.dir, 'work');
      fs.mkdirSync(this.settings.workDir);
    }
    const cfgPath = path.join(this.dir, 'driver.json');
    fs.writeFileSync(cfgPath, JSON.stringify(this.settings));
    this.lines = [];
    this.waiters = [];
    this.stderr = '';
    this.proc = spawn(DRIVER_BIN, [cfgPath], {
      env: { PATH: process.env.PATH, HOME: this.dir, ANTHROPIC_API_KEY: 'sk-test', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let buf = '';
    this.proc.stdout.on('data', (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const msg = JSON.parse(line);
        this.lines.push(msg);
        for (const w of [...this.waiters]) {
          if (w.pred(msg)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(msg);
          }
        }
      }
    });
    this.proc.stderr.on('data', (d) => {
      this.stderr += d;
      if (process.env.DRIVER_STDERR) process.stderr.write(d);
    });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid() { return this.lines.find((m) => m.ready)?.ready.pid; }

  // Resolves with the first line (seen so far or later) that pred accepts.
  next(pred, timeoutMs = 30000) {
    const seen = this.lines.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      this.waiters.push(w);
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`driver: timed out waiting; stderr:\n${this.stderr.slice(-3000)}`));
      }, timeoutMs);
      const orig = w.resolve;
      w.resolve = (m) => { clearTimeout(t); orig(m); };
    });
  }

  send(cmd) { this.proc.stdin.write(`${JSON.stringify(cmd)}\n`); }

  startTurn(id, body, extra = {}) { this.send({ cmd: 'turn', id, body, ...extra }); }

  // A whole turn: { events, done, error, cancelled }.
  async turn(id, body, extra = {}, timeoutMs = 60000) {
    this.startTurn(id, body, extra);
    return this.result(id, timeoutMs);
  }

  async result(id, timeoutMs = 60000) {
    const end = await this.next((m) => m.id === id && (m.done || m.error || m.cancelled), timeoutMs);
    return {
      events: this.lines.filter((m) => m.id === id && m.event).map((m) => m.event),
      done: end.done,
      error: end.error,
      cancelled: end.cancelled,
    };
  }

  async stats() {
    const n = this.lines.length;
    this.send({ cmd: 'stats' });
    return (await this.next((m, i) => m.stats && this.lines.indexOf(m) >= n)).stats;
  }

  async sessions() {
    const n = this.lines.length;
    this.send({ cmd: 'sessions' });
    return (await this.next((m) => m.sessions && this.lines.indexOf(m) >= n)).sessions;
  }

  // Log lines "session.spawn ..." so far, parsed into objects.
  spawns() {
    return this.stderr.split('\n').filter((l) => l.includes(' session.spawn ')).map((l) => Object.fromEntries(
      [...l.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]])));
  }

  // Poll until fn() is truthy (for things only the log shows).
  async until(fn, timeoutMs = 15000) {
    const end = Date.now() + timeoutMs;
    while (!fn()) {
      if (Date.now() > end) throw new Error(`driver: condition not met; stderr:\n${this.stderr.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  // Sanitizer reports (ASan, UBSan, LeakSanitizer) in the driver's stderr.
  sanitizerReports() { return this.stderr.split('\n').filter((l) => /ERROR: \w+Sanitizer|runtime error:/.test(l)); }

  logCount(event) { return this.stderr.split('\n').filter((l) => l.includes(` ${event} `)).length; }

  // End stdin: the engine shuts down and every child is reaped.
  async stop() {
    this.proc.stdin.end();
    const r = await Promise.race([this.exited, new Promise((res) => setTimeout(() => res(null), 20000))]);
    if (!r) this.proc.kill('SIGKILL');
    return r;
  }

  cleanup() { fs.rmSync(this.dir, { recursive: true, force: true }); }
}

export const text = (res) => (res.done?.content || []).filter((b) => b.type === 'text').map((b) => b.text).join('');
export const streamedText = (res) => res.events
  .filter((e) => e.type === 'content_block_delta' && e.delta.type === 'text_delta').map((e) => e.delta.text).join('');
export const upstreamSession = (req) => JSON.parse(req.body.metadata.user_id).session_id;
export const userText = (msg) => (typeof msg.content === 'string' ? msg.content
  : msg.content.filter((b) => b.type === 'text').map((b) => b.text).join(''))
  .replace(/<system-reminder>[\s\S]*?<\/system-reminder>/g, '').trim();
