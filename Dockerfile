# claude-ws-proxy in a container: `docker compose up -d`, open http://localhost:3456, click Log in.
# Three stages: the Claude Code CLI (npm, pinned; only its native binary is kept), the proxy (built from
# source against Debian's libraries), and the image that runs both with the runtime libraries alone.

ARG DEBIAN_IMAGE=debian:trixie-slim

# ---- the Claude Code CLI: the npm package brings a native binary that needs no Node at run time ----
FROM ${DEBIAN_IMAGE} AS cli
ARG CLAUDE_CODE_VERSION=2.1.197
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# The package's postinstall puts the platform's binary over its placeholder: keep that file alone.
# Behind a TLS-inspecting proxy, give npm its CA: `--secret id=ca_certs,src=/path/to/ca-bundle.pem`.
RUN --mount=type=secret,id=ca_certs \
    NODE_EXTRA_CA_CERTS=/run/secrets/ca_certs npm install --prefix /opt/claude --no-audit --no-fund --loglevel=error \
      "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}" \
 && cp /opt/claude/node_modules/@anthropic-ai/claude-code/bin/claude.exe /usr/local/bin/claude \
 && rm -rf /opt/claude /root/.npm \
 && /usr/local/bin/claude --version

# ---- the proxy ----
FROM ${DEBIAN_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      gcc libc6-dev make cmake pkg-config libuv1-dev libllhttp-dev libyyjson-dev libwslay-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY src src
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null \
 && cmake --build build --target claude-ws-proxy -j "$(nproc)" \
 && strip build/claude-ws-proxy \
 && build/claude-ws-proxy --version

# ---- what runs ----
FROM ${DEBIAN_IMAGE}
# The proxy's libraries, TLS roots for the CLI, and tini as PID 1 (it reaps what the CLIs leave behind
# and passes SIGTERM on, so `docker stop` drains in-flight answers).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libuv1t64 libllhttp9.2 libyyjson0 libwslay1 libssl3t64 ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
# A user of its own. /data/claude holds the CLI's login (CLAUDE_CONFIG_DIR), /data/state the proxy's
# per-process homes and transcripts: both volumes, so a login and seeded conversations outlive the container.
# /data/accounts is for the config dirs of several accounts (compose.yaml shows how); a named volume mounted
# on any of them starts owned by this user.
RUN useradd --uid 10001 --user-group --create-home --home-dir /home/claude --shell /bin/bash claude \
 && mkdir -p /data/claude /data/state /data/accounts \
 && chown claude:claude /data/claude /data/state /data/accounts \
 && chmod 700 /data/claude /data/accounts
COPY --from=cli /usr/local/bin/claude /usr/local/bin/claude
COPY docker/healthcheck.sh /usr/local/bin/healthcheck
COPY --from=build /src/build/claude-ws-proxy /usr/local/bin/claude-ws-proxy

ENV HOST=0.0.0.0 \
    HTTP_PORT=3456 \
    CLAUDE_PATH=/usr/local/bin/claude \
    CLAUDE_CONFIG_DIR=/data/claude \
    STATE_DIR=/data/state
VOLUME ["/data/claude", "/data/state"]
USER claude
WORKDIR /home/claude
# Only the HTTP API. The CLIs' WebSocket port (wsPort) listens on the container's loopback: never publish it.
EXPOSE 3456
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/claude-ws-proxy"]
