// Starts the real claude-ws-proxy binary on free loopback ports with a private config, state and HOME.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../../..');
export const BUILD_DIR = process.env.BUILD_DIR || path.join(SOURCE_DIR, 'build');
export const PROXY_BIN = process.env.PROXY_BIN || path.join(BUILD_DIR, 'claude-ws-proxy');
export * from './cli-versions.mjs';
import { CLI_197 } from './cli-versions.mjs';
export const FAKE_CLI_BIN = path.join(BUILD_DIR, 'fake_cli');

// A port nobody listens on right now (the kernel picks it; we close before the proxy binds).
export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/*
 * options:
 *   config   config.json keys (merged over test defaults: free ports, private stateDir/claudeConfigDir,
 *            claudePath = the pinned 2.1.197 CLI, warmSessions 0 unless given)
 *   env      extra environment for the proxy (ANTHROPIC_BASE_URL, ...)
 *   args     extra argv; configFile: false starts without --config
 *   wait     false: do not wait for /health (for start-up failure tests; use proxy.exited)
 */
export async function startProxy({ config = {}, env = {}, args = [], configFile = true, wait = true } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-test-'));
  const claudeConfigDir = path.join(dir, 'claude-config');
  fs.mkdirSync(claudeConfigDir);
  const settings = {
    httpPort: await freePort(),
    wsPort: await freePort(),
    claudePath: CLI_197,
    stateDir: path.join(dir, 'state'),
    claudeConfigDir,
    warmSessions: 0,
    ...config,
  };
  const cfgPath = path.join(dir, 'config.json');
  fs.writeFileSync(cfgPath, JSON.stringify(settings, null, 2));
  const argv = [...(configFile ? ['--config', cfgPath] : []), ...args];
  const proc = spawn(PROXY_BIN, argv, {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, ASAN_OPTIONS: process.env.ASAN_OPTIONS,
      UBSAN_OPTIONS: process.env.UBSAN_OPTIONS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout.on('data', (d) => { output += d; if (process.env.PROXY_STDERR) process.stderr.write(d); });
  proc.stderr.on('data', (d) => { output += d; if (process.env.PROXY_STDERR) process.stderr.write(d); });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  let exitInfo = null;
  exited.then((r) => { exitInfo = r; });

  const url = `http://127.0.0.1:${settings.httpPort}`;
  const proxy = {
    url,
    port: settings.httpPort,
    wsPort: settings.wsPort,
    dir,
    claudeConfigDir,
    configPath: cfgPath,
    settings,
    proc,
    exited,
    logs: () => output,
    // Log lines of one event ("http.request", "session.spawn", ...) parsed into key=value objects.
    logEvents(event) {
      return output.split('\n').filter((l) => l.includes(` ${event} `) || l.endsWith(` ${event}`))
        .map((l) => Object.fromEntries([...l.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1], m[2].replace(/^"|"$/g, '')])));
    },
    sanitizerReports: () => output.split('\n').filter((l) => /ERROR: \w+Sanitizer|runtime error:|SUMMARY: \w+Sanitizer/.test(l)),
    // Poll until fn() is truthy.
    async until(fn, timeoutMs = 15000) {
      const end = Date.now() + timeoutMs;
      while (!(await fn())) {
        if (Date.now() > end) throw new Error(`proxy: condition not met; output:\n${output.slice(-3000)}`);
        await sleep(50);
      }
    },
    // SIGTERM, then SIGKILL if it does not exit within timeoutMs. Resolves with { code, signal }.
    async stop(timeoutMs = 20000) {
      if (!exitInfo) proc.kill('SIGTERM');
      // The deadline's timer is cleared: left pending, it would keep the test file's process alive for its
      // whole length after the last test.
      let deadline;
      const r = await Promise.race([exited, new Promise((resolve) => { deadline = setTimeout(resolve, timeoutMs, null); })]);
      clearTimeout(deadline);
      if (!r) {
        proc.kill('SIGKILL');
        await exited;
        return { code: null, signal: 'SIGKILL', timedOut: true };
      }
      return r;
    },
    cleanup() { fs.rmSync(dir, { recursive: true, force: true }); },
  };
  if (!wait) return proxy;

  const deadline = Date.now() + 30000;
  for (;;) {
    if (exitInfo) throw new Error(`proxy exited at start (${JSON.stringify(exitInfo)}):\n${output}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) { await res.arrayBuffer(); break; }
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`proxy did not answer /health within 30 s:\n${output}`);
    }
    await sleep(50);
  }
  return proxy;
}

// A suite's teardown: the proxy exits 0 with no sanitizer report, then its private directory goes.
export async function stopChecked(proxy) {
  const r = await proxy.stop();
  assert.equal(r.code, 0, `proxy exit: ${JSON.stringify(r)}\n${proxy.logs().slice(-3000)}`);
  assert.deepEqual(proxy.sanitizerReports(), []);
  proxy.cleanup();
}
