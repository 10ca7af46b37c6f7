// The pinned Claude Code CLIs and which of them a run tests.
// CLAUDE_TEST_CLI_VERSION (one version; ctest sets it for each integration.<file>.<version> entry) or
// CLI_VERSIONS ("2.1.100 2.1.197 2.1.332", the default) chooses them; suites marked `// cli-matrix`
// run once per chosen version.
import path from 'node:path';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../../..');
export const PINNED_CLI_VERSIONS = ['2.1.100', '2.1.197', '2.1.332'];
export const cliPath = (version) => path.join(SOURCE_DIR, `.deps/claude-${version}/node_modules/.bin/claude`);
export const CLI_100 = cliPath('2.1.100');
export const CLI_197 = cliPath('2.1.197');
export const CLI_332 = cliPath('2.1.332');

const parse = (v) => v.split('.').map(Number);
const atLeast = (v, min) => {
  const a = parse(v); const b = parse(min);
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return true;
};
// 2.1.121 and later refuse a loopback --sdk-url: the proxy's `auto` picks stdio for them.
export const transportFor = (version) => (atLeast(version, '2.1.121') ? 'stdio' : 'websocket');
export const cliAtLeast = atLeast;

const chosen = (process.env.CLAUDE_TEST_CLI_VERSION || process.env.CLI_VERSIONS || PINNED_CLI_VERSIONS.join(' '))
  .split(/[\s,;]+/).filter(Boolean);
// [{ version, cli, transport }] for each version this run tests.
export const TEST_CLIS = chosen.map((version) => ({ version, cli: cliPath(version), transport: transportFor(version) }));
export const testsCli = (version) => chosen.includes(version);
// The stdio CLI a suite marked `// cli-matrix (stdio)` runs on: the version ctest chose, else 2.1.197.
export const STDIO_TEST_CLI = TEST_CLIS.find((c) => c.transport === 'stdio')?.cli ?? CLI_197;
