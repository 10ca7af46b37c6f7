#!/usr/bin/env bash
# Prints the Debian mirror this machine's apt already uses (e.g. http://mirror.example/debian), so that
# adding trixie (install-deps.sh) or debootstrapping it (docker-base.sh) goes where apt goes anyway.
# Reads /etc/apt/sources.list, sources.list.d/*.list (one-line format) and sources.list.d/*.sources
# (deb822). Only sources with the `main` component of a Debian release count (a vendor's repository that
# names the release, as Docker's does, has its own components); of those, the machine's own release wins;
# security archives are not mirrors of the release. DEBIAN_MIRROR overrides; exit 1 if none is found.
# Usable as a command or sourced (then call debian_mirror).
set -euo pipefail

debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then printf '%s\n' "${DEBIAN_MIRROR%/}"; return 0; fi
  local root="${APT_ROOT:-}" codename=""
  [ -r "$root/etc/os-release" ] && codename=$(. "$root/etc/os-release" && printf '%s' "${VERSION_CODENAME:-}")
  local files=()
  [ -r "$root/etc/apt/sources.list" ] && files+=("$root/etc/apt/sources.list")
  local f
  for f in "$root"/etc/apt/sources.list.d/*.list "$root"/etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] && files+=("$f")
  done
  [ ${#files[@]} -gt 0 ] || return 1
  # One "URI SUITE" line per deb source, then the best: own codename first, then any Debian release.
  awk '
    function emit(uri, suite, components) {
      if (uri ~ /^https?:\/\// && (" " components " ") ~ /[ \t]main[ \t]/) print uri, suite
    }
    FNR == 1 { flush() }
    FILENAME ~ /\.sources$/ {
      if ($0 ~ /^[ \t]*#/) next
      if ($0 ~ /^[ \t]*$/) { flush(); next }
      key = tolower($1); sub(/:$/, "", key)
      if (key == "types") { types = $0 } else if (key == "uris") { uris = $0 }
      else if (key == "suites") { suites = $0 } else if (key == "enabled") { enabled = tolower($2) }
      else if (key == "components") { components = $0 }
      next
    }
    {
      line = $0; sub(/#.*/, "", line)
      n = split(line, w, /[ \t]+/); i = 1
      while (i <= n && w[i] == "") i++
      if (w[i] != "deb") next
      i++
      if (w[i] ~ /^\[/) { while (i <= n && w[i] !~ /\]$/) i++; i++ }
      comps = ""
      for (j = i + 2; j <= n; j++) comps = comps " " w[j]
      emit(w[i], w[i + 1], comps)
    }
    function flush(   t, u, s, nu, ns, a, b, j, k) {
      if (uris != "" && suites != "" && enabled != "no" && types ~ /(^|[ \t])deb([ \t]|$)/) {
        sub(/^[^:]*:[ \t]*/, "", uris); sub(/^[^:]*:[ \t]*/, "", suites)
        nu = split(uris, a, /[ \t]+/); ns = split(suites, b, /[ \t]+/)
        sub(/^[^:]*:/, "", components)
        for (j = 1; j <= nu; j++) for (k = 1; k <= ns; k++) if (a[j] != "" && b[k] != "") emit(a[j], b[k], components)
      }
      types = uris = suites = enabled = components = ""
    }
    END { flush() }
  ' "${files[@]}" | awk -v own="$codename" '
    BEGIN { split("buster bullseye bookworm trixie forky duke sid oldstable stable testing unstable", r, " ")
            for (i in r) release[r[i]] = 1 }
    $1 ~ /security|snapshot\.debian\.org/ { next }
    !($2 in release) { next }
    { sub(/\/+$/, "", $1) }
    $2 == own && own_uri == "" { own_uri = $1 }
    any_uri == "" { any_uri = $1 }
    END { uri = own_uri != "" ? own_uri : any_uri; if (uri == "") exit 1; print uri }
  '
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  debian_mirror || { echo "debian-mirror: no Debian mirror in the apt sources; set DEBIAN_MIRROR" >&2; exit 1; }
fi
