// Run a third-party client program in a network namespace that has only loopback (`unshare -n`), so it
// cannot reach anything but what we hand it: each listed loopback port inside is bridged, through a unix
// socket (sockets in the file system cross namespaces), to a port of ours outside (the proxy).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const BRIDGE = path.join(import.meta.dirname, 'netns-bridge.mjs');

// True when this machine lets us make one (root, unshare and ip present; a container may still refuse it).
export function hasNetns() {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  return spawnSync('unshare', ['-n', '--', 'sh', '-c', 'ip link set lo up'], { stdio: 'ignore' }).status === 0;
}

/*
 * ports: [{ inside, outside }] — inside: the port the program connects to on 127.0.0.1 in the namespace;
 * outside: ours on 127.0.0.1. Resolves with { code, signal, stdout, stderr } when the program exits.
 */
export async function runInNetns(cmd, args, { ports = [], env = {}, cwd, input } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netns-'));
  const servers = [];
  const specs = [];
  for (const [i, p] of ports.entries()) {
    const sock = path.join(dir, `p${i}.sock`);
    const server = net.createServer((c) => {
      const up = net.connect(p.outside, '127.0.0.1');
      c.pipe(up).pipe(c);
      const end = () => { c.destroy(); up.destroy(); };
      c.on('error', end); up.on('error', end); c.on('close', end); up.on('close', end);
    });
    await new Promise((resolve) => server.listen(sock, resolve));
    servers.push(server);
    specs.push({ port: p.inside, sock });
  }
  const script = 'ip link set lo up && exec "$@"';
  const child = spawn('unshare', ['-n', '--', 'sh', '-c', script, 'sh', process.execPath, BRIDGE, JSON.stringify(specs), cmd, ...args],
    { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; if (process.env.NETNS_STDERR) process.stderr.write(d); });
  child.stdin.end(input ?? '');
  const r = await new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  for (const s of servers) s.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { ...r, stdout, stderr };
}
