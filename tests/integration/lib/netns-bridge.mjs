// Inside the namespace (see netns.mjs): listen on the given loopback ports, pipe each connection to its
// unix socket, run the program, exit with its status.
import { spawn } from 'node:child_process';
import net from 'node:net';

const [specsJson, cmd, ...args] = process.argv.slice(2);
const specs = JSON.parse(specsJson);
const servers = await Promise.all(specs.map(({ port, sock }) => new Promise((resolve, reject) => {
  const server = net.createServer((c) => {
    const up = net.connect(sock);
    c.pipe(up).pipe(c);
    const end = () => { c.destroy(); up.destroy(); };
    c.on('error', end); up.on('error', end); c.on('close', end); up.on('close', end);
  });
  server.on('error', reject);
  server.listen(port, '127.0.0.1', () => resolve(server));
})));
const child = spawn(cmd, args, { stdio: 'inherit' });
child.on('exit', (code, signal) => {
  for (const s of servers) s.close();
  process.exit(code ?? (signal ? 128 : 1));
});
