// The Docker image as a user runs it, under podman with host networking (tests/docker/run.sh builds it and
// runs this inside a private network namespace, so the image's CLI can reach only the fake upstream on
// loopback): who runs, what is exposed, the health check, a real turn through the pinned CLI in the image,
// the dashboard's login with the real CLI, and a login kept in the auth volume across a container re-create.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const IMAGE = process.env.IMAGE || 'localhost/claude-ws-proxy:test';
const { freePort } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));
const { startFakeUpstream } = await import(path.join(SOURCE_DIR, 'tests/fakes/fake-upstream.mjs'));

const PODMAN = ['--runtime', 'runc', '--cgroup-manager=cgroupfs'];
const LIMITS = ['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=4096:4096'];
const FAKE_CLAUDE = path.join(SOURCE_DIR, 'tests/fakes/fake-claude-login.sh');
const CLI_VERSION = fs.readFileSync(path.join(SOURCE_DIR, 'Dockerfile'), 'utf8').match(/ARG CLAUDE_CODE_VERSION=(\S+)/)[1];
const T = { timeout: 180_000 };
const tag = `cwp-test-${process.pid}`;
const AUTH_VOLUME = `${tag}-auth`;
const STATE_VOLUME = `${tag}-state`;

function podman(args, { check = true } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn('podman', [...PODMAN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('error', reject);
    p.on('close', (code) => {
      if (check && code !== 0) reject(new Error(`podman ${args.join(' ')} -> ${code}\n${stderr}`));
      else resolve({ code, stdout, stderr });
    });
  });
}

const upstream = await startFakeUpstream();
const containers = new Set();
after(async () => {
  for (const name of containers) await podman(['rm', '-f', '-v', '-t', '0', name], { check: false });
  await podman(['volume', 'rm', '-f', AUTH_VOLUME, STATE_VOLUME], { check: false });
  await upstream.close();
});

async function call(base, method, pathname, body, headers = {}) {
  const res = await fetch(base + pathname, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, text, json };
}

/*
 * Starts the image as `docker run` would, with the auth and state volumes mounted and the proxy on a free
 * loopback port of the (namespace's) host network; resolves once /health answers, rejects with the
 * container's log if it stops first. env: extra environment; mounts: extra -v arguments.
 */
async function startContainer(label, { env = {}, mounts = [] } = {}) {
  const name = `${tag}-${label}`;
  const port = await freePort();
  const settings = { HTTP_PORT: port, WS_PORT: await freePort(), ANTHROPIC_BASE_URL: upstream.url, ...env };
  const envArgs = Object.entries(settings).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  const volumeArgs = ['-v', `${AUTH_VOLUME}:/data/claude`, '-v', `${STATE_VOLUME}:/data/state`, ...mounts.flatMap((m) => ['-v', m])];
  containers.add(name);
  // --health-interval=disable: no systemd timer here; the test runs the image's check itself.
  await podman(['run', '-d', '--name', name, '--network=host', '--health-interval=disable', ...LIMITS,
    ...envArgs, ...volumeArgs, IMAGE]);
  const base = `http://127.0.0.1:${port}`;
  const logs = async () => {
    const r = await podman(['logs', name], { check: false });
    return r.stdout + r.stderr; // the proxy logs to stderr
  };
  for (;;) {
    try {
      const r = await call(base, 'GET', '/health');
      if (r.status === 200) break;
    } catch { /* not listening yet */ }
    const state = await podman(['inspect', '--format', '{{.State.Running}}', name]);
    if (state.stdout.trim() !== 'true') throw new Error(`container ${name} stopped:\n${await logs()}`);
    await new Promise((r) => setTimeout(r, 100)); // poll: the proxy's port has no other signal we can await
  }
  return { name, base, logs, remove: async () => { await podman(['rm', '-f', '-v', '-t', '10', name]); containers.delete(name); } };
}

test('the image: a non-root user, HOST=0.0.0.0, only the HTTP port exposed, a health check, two volumes', T, async () => {
  const [info] = JSON.parse((await podman(['image', 'inspect', IMAGE])).stdout);
  const cfg = info.Config;
  assert.equal(cfg.User, 'claude');
  for (const kv of ['HOST=0.0.0.0', 'HTTP_PORT=3456', 'CLAUDE_CONFIG_DIR=/data/claude', 'STATE_DIR=/data/state'])
    assert.ok(cfg.Env.includes(kv), `${kv} in ${cfg.Env}`);
  assert.deepEqual(Object.keys(cfg.ExposedPorts), ['3456/tcp'], 'the WebSocket port is never exposed');
  assert.deepEqual(Object.keys(cfg.Volumes).sort(), ['/data/claude', '/data/state']);
  assert.deepEqual(info.Config.Healthcheck?.Test ?? info.Healthcheck?.Test, ['CMD', '/usr/local/bin/healthcheck']);

  const r = await podman(['run', '--rm', '--network=none', ...LIMITS, '--entrypoint', '/bin/sh', IMAGE, '-c',
    'id -u; id -g; claude --version; command -v node npm || echo no-node; ls /usr/include 2>/dev/null | wc -l']);
  const [uid, gid, version, node, headers] = r.stdout.trim().split('\n');
  assert.equal(uid, '10001');
  assert.equal(gid, '10001');
  assert.equal(version, `${CLI_VERSION} (Claude Code)`, 'the pinned CLI');
  assert.equal(node, 'no-node', 'the native CLI needs no Node at run time');
  assert.equal(headers, '0', 'no build dependencies in the runtime image');
});

// compose.yaml, read as far as this test needs: the service's environment defaults, volumes, ports, checks.
function composeService() {
  const text = fs.readFileSync(path.join(SOURCE_DIR, 'compose.yaml'), 'utf8');
  const block = (key) => {
    const m = text.match(new RegExp(`^    ${key}:\\n((?:      .*\\n|\\s*#.*\\n)*)`, 'm'));
    return m ? m[1].split('\n').filter((l) => /^      \S/.test(l) && !/^\s*#/.test(l)) : [];
  };
  const environment = {};
  for (const line of block('environment')) {
    const m = line.match(/^ {6}([A-Z_]+): \$\{\1:-(.*)\}$/);
    assert.ok(m, `environment entries read \${NAME:-default}: ${line}`);
    environment[m[1]] = m[2];
  }
  return {
    text,
    environment,
    volumes: block('volumes').map((l) => l.replace(/^\s*- /, '').replace(/\s+#.*/, '')),
    ports: block('ports').map((l) => l.replace(/^\s*- /, '').replaceAll('"', '')),
    healthcheck: text.match(/^    healthcheck:\n      test: (\[.*\])$/m)?.[1],
  };
}

test('compose.yaml: the service on 3456, the auth volume on the image\'s CLAUDE_CONFIG_DIR, settings the proxy knows', T, async () => {
  const compose = composeService();
  const [info] = JSON.parse((await podman(['image', 'inspect', IMAGE])).stdout);
  const imageEnv = Object.fromEntries(info.Config.Env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  assert.deepEqual(compose.ports, [`127.0.0.1:3456:${imageEnv.HTTP_PORT}`], 'only the HTTP port, on loopback');
  assert.ok(compose.volumes.includes(`claude-ws-proxy-auth:${imageEnv.CLAUDE_CONFIG_DIR}`), compose.volumes.join());
  assert.ok(compose.volumes.includes(`claude-ws-proxy-state:${imageEnv.STATE_DIR}`), compose.volumes.join());
  assert.match(compose.text, /^volumes:\n {2}claude-ws-proxy-auth:\n {4}name: claude-ws-proxy-auth$/m, 'a fixed volume name');
  assert.match(compose.text, /^    restart: unless-stopped$/m);
  assert.deepEqual(JSON.parse(compose.healthcheck), info.Config.Healthcheck?.Test ?? info.Healthcheck?.Test);
  const options = fs.readFileSync(path.join(SOURCE_DIR, 'src/config_options.c'), 'utf8');
  for (const name of Object.keys(compose.environment)) assert.ok(options.includes(`"${name}"`), `${name} is a setting`);
  assert.ok(Object.keys(compose.environment).length >= 5);
});

test('a real turn through the CLI in the image (compose.yaml\'s settings), all processes non-root, healthy', T, async () => {
  const env = { ...composeService().environment, ANTHROPIC_API_KEY: 'sk-test', WARM_SESSIONS: 0 };
  const c = await startContainer('turn', { env });
  try {
    const health = await call(c.base, 'GET', '/health');
    assert.equal(health.json.status, 'ok');
    assert.equal(health.json.cliFound, true);
    assert.equal(health.json.cliVersion, CLI_VERSION);
    assert.equal(health.json.transport, 'stdio');
    assert.match(await c.logs(), /listening url=http:\/\/0\.0\.0\.0:/, 'HOST=0.0.0.0 inside');

    const check = await podman(['healthcheck', 'run', c.name], { check: false });
    assert.equal(check.code, 0, `healthcheck: ${check.stdout}${check.stderr}`);

    const before = upstream.turns().length;
    const r = await call(c.base, 'POST', '/v1/messages', {
      model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hello from the docker test' }],
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.content[0].text, 'Hello from the fake upstream.');
    const turns = upstream.turns().slice(before);
    assert.ok(turns.length >= 1, 'the CLI in the container reached the fake upstream');
    assert.equal(turns.at(-1).headers['x-api-key'], 'sk-test');
    assert.match(turns.at(-1).headers['user-agent'], new RegExp(`claude-cli/${CLI_VERSION.replaceAll('.', '\\.')}`));

    const top = await podman(['top', c.name, 'user', 'args']);
    const rows = top.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
    assert.ok(rows.some((row) => row[1] === '/usr/local/bin/claude'), `a CLI process lives:\n${top.stdout}`);
    for (const row of rows) assert.equal(row[0], 'claude', `runs as claude: ${row.join(' ')}`);
  } finally {
    await c.remove();
  }
});

test('login from the dashboard: the real CLI in the image prints its authorize URL and waits for the code', T, async () => {
  const c = await startContainer('login-url');
  try {
    const page = await call(c.base, 'GET', '/');
    assert.equal(page.status, 200);
    assert.match(page.text, /<html/i);
    // As the dashboard's button sends it: a POST from the page's own origin.
    const fromPage = { origin: c.base };
    const [a, b] = await Promise.all([call(c.base, 'POST', '/auth/login', undefined, fromPage),
      call(c.base, 'POST', '/auth/login', undefined, fromPage)]);
    assert.equal(a.status, 200, a.text);
    assert.equal(b.json?.url, a.json.url, 'one login, shared');
    const url = new URL(a.json.url);
    assert.equal(url.origin + url.pathname, 'https://claude.com/cai/oauth/authorize');
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    const st = await call(c.base, 'GET', '/auth/status');
    assert.equal(st.json.authenticated, false);
    assert.equal(st.json.login.state, 'waiting_code');
  } finally {
    await c.remove();
  }
});

test('a login through the proxy lands in the auth volume and survives a container re-create', T, async () => {
  // The code exchange needs claude.ai, so this container's `claude auth login` is the tests' fake (same
  // prompt, same pty; it writes the credentials file the real one would); everything else is the image's CLI.
  const first = await startContainer('login', {
    env: { CLAUDE_PATH: '/opt/fake/fake-claude-login.sh' },
    mounts: [`${FAKE_CLAUDE}:/opt/fake/fake-claude-login.sh:ro`],
  });
  try {
    assert.equal((await call(first.base, 'GET', '/auth/status')).json.authenticated, false);
    const login = await call(first.base, 'POST', '/auth/login');
    assert.equal(login.status, 200, login.text);
    const code = await call(first.base, 'POST', '/auth/code', { code: 'good#fakestate' });
    assert.equal(code.status, 200, code.text);
    assert.equal(code.json.success, true);
    const st = await call(first.base, 'GET', '/auth/status');
    assert.equal(st.json.authenticated, true);
    assert.equal(st.json.method, 'credentials_file');
  } finally {
    await first.remove();
  }

  // As after `docker compose down && docker compose up -d`: a new container, the same named volume.
  const second = await startContainer('relogin');
  try {
    const st = await call(second.base, 'GET', '/auth/status');
    assert.equal(st.json.authenticated, true, st.text);
    assert.equal(st.json.method, 'credentials_file');
    assert.equal(st.json.subscriptionType, 'max');
    assert.equal((await call(second.base, 'GET', '/health')).json.authenticated, true);
    const ls = await podman(['exec', second.name, 'stat', '-c', '%U %a', '/data/claude/.credentials.json']);
    assert.match(ls.stdout.trim(), /^claude [0-7]{3}$/, 'written by the non-root user');

    // The re-created container's CLI uses that login for a turn.
    const before = upstream.turns().length;
    const r = await call(second.base, 'POST', '/v1/messages', {
      model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Still logged in?' }],
    });
    assert.equal(r.status, 200, r.text);
    const turn = upstream.turns().slice(before).at(-1);
    assert.equal(turn?.headers.authorization, 'Bearer sk-ant-oat01-FAKEACCESS');
  } finally {
    await second.remove();
  }
});
