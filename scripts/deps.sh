#!/usr/bin/env bash
# Installs the Debian packages the build needs, skipping apt entirely when all are present.
# Run as root (or with sudo) on Debian 12.
set -euo pipefail
PKGS=(cmake make g++ ccache libpng-dev zlib1g-dev libjpeg62-turbo-dev libtiff-dev doctest-dev libbenchmark-dev
      libcli11-dev nlohmann-json3-dev pkgconf)
PKGS+=("$@")  # callers add what only they need
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "== installing: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
