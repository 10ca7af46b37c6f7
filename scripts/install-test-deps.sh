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

# A symlinked tests/node_modules is a shared install (a git worktree's): `npm ci` through it would empty
# it for everyone sharing it, so only a real directory is refreshed here.
if [ ! -L tests/node_modules ] && { [ ! -d tests/node_modules ] || [ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; }; then
  (cd tests && npm ci --no-audit --no-fund --loglevel=error)
fi

# pi (a coding agent speaking both dialects), run against the proxy by tests/integration/clients.test.mjs.
PI_VERSION=0.73.1
if [ ! -e ".deps/pi-coding-agent-$PI_VERSION/node_modules/.bin/pi" ]; then
  echo "install-test-deps: @mariozechner/pi-coding-agent@$PI_VERSION into .deps/pi-coding-agent-$PI_VERSION"
  mkdir -p ".deps/pi-coding-agent-$PI_VERSION"
  npm install --prefix ".deps/pi-coding-agent-$PI_VERSION" --no-audit --no-fund --loglevel=error \
    "@mariozechner/pi-coding-agent@$PI_VERSION"
fi

# claude-max-api-proxy (a CLI per request), run side by side with the proxy by bench/shapes.bench.mjs.
MAX_API_PROXY_VERSION=1.0.0
if [ ! -e ".deps/claude-max-api-proxy-$MAX_API_PROXY_VERSION/node_modules/claude-max-api-proxy/package.json" ]; then
  echo "install-test-deps: claude-max-api-proxy@$MAX_API_PROXY_VERSION into .deps/claude-max-api-proxy-$MAX_API_PROXY_VERSION"
  mkdir -p ".deps/claude-max-api-proxy-$MAX_API_PROXY_VERSION"
  npm install --prefix ".deps/claude-max-api-proxy-$MAX_API_PROXY_VERSION" --no-audit --no-fund --loglevel=error \
    "claude-max-api-proxy@$MAX_API_PROXY_VERSION"
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

# The libFuzzer targets (scripts/fuzz.sh): clang with its fuzzer and sanitizer runtimes.
if [ "$(uname)" = Linux ] && command -v apt-get >/dev/null; then
  fuzz_missing=""
  command -v clang >/dev/null || fuzz_missing="clang"
  dpkg -s libclang-rt-dev >/dev/null 2>&1 || fuzz_missing="$fuzz_missing libclang-rt-dev"
  if [ -n "$fuzz_missing" ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "install-test-deps: $fuzz_missing (the fuzz targets)"
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $fuzz_missing ||
      { $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $fuzz_missing; } ||
      echo "install-test-deps: $fuzz_missing not installed; the fuzz test will be skipped (or fail under CI)" >&2
  fi
fi
