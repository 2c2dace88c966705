#!/usr/bin/env bash
# Runs the pg_regress suites against a throwaway server started under valgrind
# memcheck and reports the errors attributable to lead_scoring.so
# (doc/hardening.md). Usage:
#   PG_CONFIG=... scripts/valgrind.sh [extra make arguments, e.g. REGRESS=hostile]
# Environment: VALGRIND_SKIP (suites left out; default hostile_memory, whose
# resident-size check means nothing under valgrind), VALGRIND_KEEP=1 keeps the
# logs directory. Exit status 1 when an error in our code was found.
# PostgreSQL is run the way its src/tools/valgrind.supp approach describes, with
# our own suppression file (scripts/valgrind.supp) for known PostgreSQL noise.
# The extension must be installed (make install) for this PG_CONFIG.
set -euo pipefail

PG_CONFIG=${PG_CONFIG:-pg_config}
BINDIR=$("$PG_CONFIG" --bindir)
root=$(cd "$(dirname "$0")/.." && pwd)
skip=${VALGRIND_SKIP-hostile_memory}

as_server_user() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

dir=$(mktemp -d /tmp/ls_valgrind.XXXXXX)
chmod 755 "$dir"
[[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
cleanup() {
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    as_server_user "$BINDIR/pg_ctl" -D "$dir/data" -m immediate -w -t 120 stop >/dev/null 2>&1 || true
  fi
  if [[ -z "${VALGRIND_KEEP:-}" ]]; then rm -rf "$dir"; else echo "logs kept in $dir"; fi
}
trap cleanup EXIT

as_server_user "$BINDIR/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 \
  >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
port=$(( 40000 + RANDOM % 20000 ))
cat >>"$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 20
max_worker_processes = 8
max_parallel_workers_per_gather = 0
huge_pages = off
jit = off
autovacuum = off
CONF

mkdir -p "$dir/vg"
chown postgres: "$dir/vg" 2>/dev/null || true
# The postmaster and every backend it forks run under memcheck; each process
# writes its own log. Leaks: only "definitely lost" blocks count.
as_server_user valgrind --tool=memcheck --quiet --trace-children=no --track-origins=yes \
  --num-callers=30 --error-limit=no --leak-check=full --show-leak-kinds=definite \
  --errors-for-leak-kinds=definite --suppressions="$root/scripts/valgrind.supp" --gen-suppressions=all \
  --log-file="$dir/vg/%p.log" \
  "$BINDIR/postgres" -D "$dir/data" >"$dir/server.log" 2>&1 &

for _ in $(seq 1 240); do
  "$BINDIR/pg_isready" -q -h "$dir" -p "$port" && break
  sleep 1
done
"$BINDIR/pg_isready" -q -h "$dir" -p "$port" || { echo "server did not start"; cat "$dir/server.log"; exit 1; }

suites=$(cd "$root" && ls sql/*.sql | sed 's|sql/||; s|\.sql$||')
for s in $skip; do suites=$(echo "$suites" | grep -vx "$s" || true); done
echo "valgrind: running $(echo $suites | wc -w) suites under memcheck (skipped: ${skip:-none})"
start=$(date +%s)
set +e
PGHOST=$dir PGPORT=$port PGUSER=postgres make -C "$root" --no-print-directory PG_CONFIG="$PG_CONFIG" installcheck \
  REGRESS="$(echo $suites)" ISOLATION= TAP_TESTS= "$@" 2>&1 | grep -E '^(test|ok|not ok| *[0-9]+ of| All)|FAILED|failed' 
set -e
as_server_user "$BINDIR/pg_ctl" -D "$dir/data" -m fast -w -t 300 stop >/dev/null 2>&1 || true
echo "valgrind: suites took $(( $(date +%s) - start )) s"

# One error = one block of a log between blank "==pid== " lines. Ours when a
# frame is in lead_scoring.so (or our sources).
python3 - "$dir/vg" "$root/src" <<'PY'
import os, re, sys
d, src = sys.argv[1], sys.argv[2]
# Frames in lead_scoring.so: its object name, or (with debug info) one of our
# source files, or a function of our namespaces / entry points.
names = sorted(f for sub in ("core", "pg") for f in os.listdir(os.path.join(src, sub)))
ours_re = re.compile(r"lead_scoring\.so|\((%s):\d+\)|\bls::|\bls_[a-z_]+" % "|".join(map(re.escape, names)))
total = ours = 0
for f in sorted(os.listdir(d)):
    text = open(os.path.join(d, f), errors="replace").read()
    blocks, cur = [], []
    for line in text.splitlines():
        body = re.sub(r"^==\d+== ?", "", line)
        if body.strip() == "":
            if cur: blocks.append(cur); cur = []
        else:
            cur.append(body)
    if cur: blocks.append(cur)
    for b in blocks:
        if not re.match(r"(Invalid|Conditional|Use of|Syscall|Mismatched|Source and|Argument|[\d,]+ (bytes|\()|Jump)", b[0]):
            continue
        total += 1
        if any(ours_re.search(l) for l in b[1:]):
            ours += 1
            print("---- %s" % f); print("\n".join(b))
print("valgrind: %d error(s) in %d process logs, %d attributable to lead_scoring.so" % (total, len(os.listdir(d)), ours))
sys.exit(1 if ours else 0)
PY
