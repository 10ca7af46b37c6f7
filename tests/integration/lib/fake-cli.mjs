// The fake CLI (tests/fakes/fake_cli.c) behind a wrapper script: the engine gives its children a filtered
// environment, so the FAKE_CLI_* settings are set by the script itself.
import fs from 'node:fs';
import path from 'node:path';

import { FAKE_CLI_BIN } from './engine-driver.mjs';

const quote = (s) => `'${String(s).replaceAll("'", "'\\''")}'`;

// settings: { mode, once: bool, version } → { path, logPath, log(), pids(), starts() }
export function fakeCli(dir, { mode, once = false, version, name = 'fake-claude' } = {}) {
  const script = path.join(dir, name);
  const logPath = path.join(dir, `${name}.log`);
  const env = { FAKE_CLI_LOG: logPath };
  if (mode) env.FAKE_CLI_MODE = mode;
  if (once) env.FAKE_CLI_ONCE = path.join(dir, `${name}.once`);
  if (version) env.FAKE_CLI_VERSION = version;
  const lines = ['#!/bin/sh', ...Object.entries(env).map(([k, v]) => `export ${k}=${quote(v)}`),
    `exec ${quote(FAKE_CLI_BIN)} "$@"`];
  fs.writeFileSync(script, `${lines.join('\n')}\n`, { mode: 0o755 });
  const log = () => (fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8').split('\n').filter(Boolean)
    .map((l) => JSON.parse(l)) : []);
  return {
    path: script,
    logPath,
    log,
    // one entry per process started (not counting --version probes)
    starts: () => log().filter((e) => e.argv),
    pids: () => log().filter((e) => e.argv).map((e) => e.pid),
  };
}

export const isAlive = (pid) => {
  try {
    // a zombie is dead for our purposes: it only waits for its parent to reap it
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

export const fdCount = (pid) => fs.readdirSync(`/proc/${pid}/fd`).length;
export const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
export const hasSanitizer = (pid) => /lib(a|ub)san/.test(fs.readFileSync(`/proc/${pid}/maps`, 'utf8'));
