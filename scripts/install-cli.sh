#!/usr/bin/env bash
# Make sure a Claude Code CLI exists: the one on PATH, else one installed from npm into .deps/cli.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${CLAUDE_PATH:-}" ] || command -v claude >/dev/null; then exit 0; fi
if [ -x .deps/cli/node_modules/.bin/claude ]; then exit 0; fi
echo "install-cli: 'claude' is not on PATH; installing @anthropic-ai/claude-code into .deps/cli"
mkdir -p .deps/cli
npm install --prefix .deps/cli --no-audit --no-fund --loglevel=error @anthropic-ai/claude-code
