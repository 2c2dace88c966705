#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build and test lead_scoring, only
# when some are missing (checked with dpkg -s first; nothing is downloaded when
# everything is present). Not root and something missing: prints the command
# to run and exits 1.
set -euo pipefail

PACKAGES=(postgresql-15 postgresql-server-dev-15 nlohmann-json3-dev libre2-dev cmake g++ make
          libgtest-dev libipc-run-perl pkg-config clang-14 libclang-rt-14-dev
          postgresql-15-cron debootstrap dpkg-dev debhelper postgresql-server-dev-all postgresql-all lintian)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: install them as root with:" >&2
  echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
