#!/usr/bin/env bash
# Makes the image the Dockerfile starts from, debian:trixie-slim, without a container registry: a minimal
# trixie from the machine's own Debian mirror (debootstrap), imported into podman under the name Docker
# would pull. Skipped when podman already has that image (its storage is the cache).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=docker.io/library/debian:trixie-slim
if podman image exists "$IMAGE"; then exit 0; fi

command -v debootstrap >/dev/null || { echo "docker-base: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
mirror=$(scripts/debian-mirror.sh)
root=$(mktemp -d /var/tmp/trixie-slim.XXXXXX)
trap 'rm -rf "$root"' EXIT

echo "docker-base: debootstrap --variant=minbase trixie from $mirror"
debootstrap --variant=minbase trixie "$root" "$mirror" >"$root.log" 2>&1 || {
  tail -20 "$root.log" >&2
  rm -f "$root.log"
  exit 1
}
rm -f "$root.log"
# Slim as the published image is: no documentation, manuals or translations, and apt keeps neither its
# caches nor downloaded packages in a layer (the same dpkg and apt settings that image ships).
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
CFG
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
echo 'Acquire::GzipIndexes "true";' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$root"/usr/share/{groff,info,linda,lintian/overrides,man}/* "$root"/var/cache/apt/*.bin \
  "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/var/log/apt/*
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
tar -C "$root" -c . | podman import --change 'CMD ["bash"]' - "$IMAGE" >/dev/null
echo "docker-base: $IMAGE imported"
