#!/usr/bin/env bash
# `make docker-test` (and the ctest entry docker.image): the Dockerfile built and run with podman, no Docker
# daemon and no container registry. Makes the debian:trixie-slim base (scripts/docker-base.sh, cached in
# podman's storage), builds the image (podman's layer cache makes a rebuild after a source change take
# seconds), then runs tests/docker/image.test.mjs in a private network namespace: the container's host
# network is that namespace's loopback, where the fake upstream listens, and nothing else.
# Exit 77 (ctest: skipped) where podman cannot be used, except under CI, where that is a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

skip() {
  if [ "${CI:-}" = true ]; then echo "docker-test: $1" >&2; exit 1; fi
  echo "docker-test: skipped: $1"
  exit 77
}
[ "$(uname)" = Linux ] || skip "needs Linux (podman with runc)"
[ "$(id -u)" -eq 0 ] || skip "needs root (a network namespace of its own, podman's root storage)"
for tool in podman runc debootstrap node unshare ip; do
  command -v "$tool" >/dev/null || skip "$tool is missing (scripts/install-test-deps.sh installs it)"
done

IMAGE=${IMAGE:-localhost/claude-ws-proxy:test}
started=$(date +%s)
scripts/docker-base.sh

# npm in the build reaches its registry over TLS: hand it this machine's CA bundle (as a build secret, not
# a layer), so a TLS-inspecting proxy that the host trusts works in the build too.
ca_bundle=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
secret=()
[ -r "$ca_bundle" ] && secret=(--secret "id=ca_certs,src=$ca_bundle")
log=$(mktemp /tmp/docker-build.XXXXXX.log)
if ! podman --runtime runc --cgroup-manager=cgroupfs build --pull=never --network=host \
    --ulimit nofile=20000:20000 --format docker "${secret[@]}" -t "$IMAGE" . >"$log" 2>&1; then
  tail -40 "$log" >&2
  echo "docker-test: the image did not build (whole log: $log)" >&2
  exit 1
fi
rm -f "$log"
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
echo "docker-test: $IMAGE built, $((size / 1000000)) MB, $(($(date +%s) - started)) s including the base"

export IMAGE SOURCE_DIR="$PWD"
exec unshare -n sh -c 'ip link set lo up && exec node --test --test-concurrency=1 --test-reporter=spec tests/docker/image.test.mjs'
