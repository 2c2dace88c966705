#!/usr/bin/env bash
# A throwaway PostgreSQL server in a temporary directory on a free local port.
#   eval "$(scripts/pg_tmp.sh start [extra postgresql.conf lines...])"  -> exports PGHOST PGPORT PGUSER PGDATABASE LS_PGTMP
#   scripts/pg_tmp.sh stop "$LS_PGTMP"
# It never touches a server that is already running: it picks an unused port and
# its own socket directory. initdb refuses to run as root, so as root the server
# runs as the unprivileged user 'postgres' (created by Debian's postgresql package).
set -euo pipefail

PG_CONFIG=${PG_CONFIG:-pg_config}
BINDIR=$("$PG_CONFIG" --bindir)

as_server_user() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && [[ ! -e "/tmp/.s.PGSQL.$p" ]]; then
      echo "$p"; return 0
    fi
  done
  echo "no free port found" >&2; return 1
}

case "${1:-}" in
  start)
    shift
    dir=$(mktemp -d /tmp/ls_pgtmp.XXXXXX)
    chmod 755 "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    port=$(free_port)
    as_server_user "$BINDIR/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    {
      echo "port = $port"
      echo "listen_addresses = '127.0.0.1'"
      echo "unix_socket_directories = '$dir'"
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
      echo "max_worker_processes = 16"
      for line in "$@"; do echo "$line"; done
    } >>"$dir/data/postgresql.conf"
    as_server_user "$BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    echo "export PGHOST='$dir' PGPORT='$port' PGUSER=postgres PGDATABASE=postgres LS_PGTMP='$dir'"
    ;;
  stop)
    dir=${2:?usage: pg_tmp.sh stop DIR}
    [[ -d "$dir/data" ]] && as_server_user "$BINDIR/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start [conf lines...] | stop DIR" >&2; exit 2 ;;
esac
