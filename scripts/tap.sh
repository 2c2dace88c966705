#!/usr/bin/env bash
# Runs the TAP tests (test/t/*.pl) through PGXS's prove_installcheck against the
# installed extension: `make PG_CONFIG=... install` first.
#   PG_CONFIG=/path/to/pg_config scripts/tap.sh [test/t/NNN_name.pl ...]
# initdb refuses to run as root, so as root the tests run as the unprivileged
# user 'postgres' over a copy of the tree that it owns; the copy's tmp_check
# (server logs) is copied back to ./tmp_check. PROVE_FLAGS (e.g. --verbose) is
# passed through.
set -euo pipefail

PG_CONFIG=${PG_CONFIG:-pg_config}
cd "$(dirname "$0")/.."
tests=${*:-test/t/*.pl}
args=(PG_CONFIG="$PG_CONFIG" REGRESS= ISOLATION= "PROVE_TESTS=$tests" "PROVE_FLAGS=${PROVE_FLAGS:-}")

if [[ $(id -u) -ne 0 ]]; then
  exec make --no-print-directory installcheck "${args[@]}"
fi

user=${TAP_USER:-postgres}
dir=$(mktemp -d /tmp/ls_tap.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cp -a Makefile lead_scoring.control test "$dir"/
[[ -d install ]] && cp -a install "$dir"/
chown -R "$user:" "$dir"
rc=0
runuser -u "$user" -- make --no-print-directory -C "$dir" installcheck "${args[@]}" || rc=$?
rm -rf tmp_check
[[ -d $dir/tmp_check ]] && cp -a "$dir/tmp_check" tmp_check
exit $rc
