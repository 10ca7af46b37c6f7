// scripts/debian-mirror.sh: the Debian mirror install-deps.sh (trixie on Debian 12) and docker-base.sh
// (debootstrap) use is the one the machine's apt sources name, read from fixture roots (APT_ROOT).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const SCRIPT = path.join(SOURCE_DIR, 'scripts/debian-mirror.sh');

// files: {relative path: text}; returns {status, stdout, stderr} of the script run against that root.
function mirrorOf(files, env = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'apt-root-'));
  try {
    fs.mkdirSync(path.join(root, 'etc/apt/sources.list.d'), { recursive: true });
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(root, name), text);
    const r = spawnSync('bash', [SCRIPT], { env: { PATH: process.env.PATH, APT_ROOT: root, ...env }, encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

test('deb822 .sources: the stanza of the machine\'s release, not security, snapshot comments or disabled ones', () => {
  const r = mirrorOf({
    'etc/os-release': 'ID=debian\nVERSION_CODENAME=bookworm\n',
    'etc/apt/sources.list.d/debian.sources': [
      'Types: deb', '# http://snapshot.debian.org/archive/debian/20250520T000000Z', 'URIs: http://mirror.example/debian/',
      'Suites: bookworm bookworm-updates', 'Components: main', '',
      'Types: deb', 'URIs: http://mirror.example/debian-security', 'Suites: bookworm-security', 'Components: main', '',
    ].join('\n'),
    'etc/apt/sources.list.d/off.sources': 'Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n',
  });
  assert.deepEqual(r, { status: 0, stdout: 'http://mirror.example/debian', stderr: '' });
});

test('one-line sources.list with options; a vendor repository, deb-src and other suites lose to the own release', () => {
  const r = mirrorOf({
    'etc/os-release': 'VERSION_CODENAME=trixie\n',
    'etc/apt/sources.list': [
      'deb [arch=amd64] https://containers.example/linux/debian trixie stable',
      '# deb http://commented.example/debian trixie main',
      'deb-src http://src.example/debian trixie main',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://old.example/debian bookworm main',
      'deb http://security.example/debian-security trixie-security main',
      'deb https://own.example/debian trixie main contrib',
    ].join('\n') + '\n',
    'etc/apt/sources.list.d/vendor.list': 'deb https://vendor.example/apt stable-vendor main\n',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'https://own.example/debian');
});

test('another Debian release when the own one is not listed; none at all is an error; DEBIAN_MIRROR wins', () => {
  const other = { 'etc/os-release': 'VERSION_CODENAME=forky\n', 'etc/apt/sources.list': 'deb http://m.example/debian bookworm main\n' };
  assert.equal(mirrorOf(other).stdout, 'http://m.example/debian');
  const none = mirrorOf({ 'etc/os-release': 'VERSION_CODENAME=noble\n', 'etc/apt/sources.list': 'deb http://archive.example/ubuntu noble main\n' });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no Debian mirror/);
  assert.equal(mirrorOf(other, { DEBIAN_MIRROR: 'http://given.example/debian/' }).stdout, 'http://given.example/debian');
});
