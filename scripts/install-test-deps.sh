#!/usr/bin/env bash
# What the tests need beyond the build: the pinned CLIs (2.1.100 over WebSocket, 2.1.197 and 2.1.332 over
# stdio; the integration suites marked `// cli-matrix` run on each),
# the official SDKs and playwright-core (tests/package.json), Debian's chromium, and podman, runc and
# debootstrap for the Docker image test (tests/docker/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

CLI_PINNED_VERSIONS="2.1.100 2.1.197 2.1.332"
for v in $CLI_PINNED_VERSIONS; do
  if [ ! -e ".deps/claude-$v/node_modules/.bin/claude" ]; then
    echo "install-test-deps: @anthropic-ai/claude-code@$v into .deps/claude-$v"
    mkdir -p ".deps/claude-$v"
    npm install --prefix ".deps/claude-$v" --no-audit --no-fund --loglevel=error "@anthropic-ai/claude-code@$v"
  fi
done

# Third-party clients tested against the proxy, each pinned in its own folder (tests skip when missing).
CODEX_VERSION=0.171.0 # tests/integration/codex.test.mjs
if [ ! -e ".deps/codex-$CODEX_VERSION/node_modules/.bin/codex" ]; then
  echo "install-test-deps: @openai/codex@$CODEX_VERSION into .deps/codex-$CODEX_VERSION"
  mkdir -p ".deps/codex-$CODEX_VERSION"
  npm install --prefix ".deps/codex-$CODEX_VERSION" --no-audit --no-fund --loglevel=error "@openai/codex@$CODEX_VERSION"
fi

if [ ! -d tests/node_modules ] || [ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; then
  (cd tests && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ "$(uname)" != Darwin ] && ! command -v chromium >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends chromium || \
    echo "install-test-deps: chromium not installed; the browser test will be skipped" >&2
fi

if [ "$(uname)" = Linux ] && command -v apt-get >/dev/null; then
  missing=""
  for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || missing="$missing $tool"; done
  if [ -n "$missing" ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "install-test-deps:$missing (the Docker image test)"
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing ||
      { $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing; } ||
      echo "install-test-deps:$missing not installed; the Docker image test will be skipped (or fail under CI)" >&2
  fi
fi
