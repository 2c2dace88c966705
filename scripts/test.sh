#!/usr/bin/env bash
# Runs every test of lead_scoring and ends with the line "N passed, M failed",
# counting suites: unit (CMake + GoogleTest via ctest), sanitize (the unit tests
# under ASan+UBSan), fuzz (libFuzzer smoke runs), regress (pg_regress),
# isolation (pg_isolation_regress), tap (prove), reference (README's reference
# table and COMMENT ON, scripts/check_reference.sh), upgrade (the previous
# release updated by ALTER EXTENSION UPDATE against a fresh install, a TAP
# test), pg_cron (the pg_cron TAP test),
# browser (the demo's report in headless Chromium, test/browser),
# pgxn (META.json and `make dist`), debian (the Debian package: build, lintian,
# install into a clean bookworm root) and pg17 / pg18 (the pg suites against
# PostgreSQL 17 and 18 in clean Debian roots, scripts/test_versions.sh). A suite
# with no test files yet is reported as skipped and not counted. Exit status is
# non-zero when any suite (or the build) fails.
#
#   bash scripts/test.sh                 # uses pg_config from PATH
#   PG_CONFIG=/path/to/pg_config bash scripts/test.sh
#   LS_SKIP_SLOW=1 bash scripts/test.sh  # skip debian, pg17, pg18 (CI runs them)
#   LS_ONLY_PG=1 bash scripts/test.sh    # only regress, isolation, tap, upgrade, pg_cron
#                                        # (what scripts/test_versions.sh runs in each root)
#
# It installs the extension into the PostgreSQL that PG_CONFIG names (as root
# with the default pg_config: the system one), starts a throwaway server on a
# free port (scripts/pg_tmp.sh) and always stops it on exit or interruption.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
export PG_CONFIG=${PG_CONFIG:-pg_config}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

passed=0
failed=0
results=()
PGTMP=""

cleanup() {
  if [[ -n "$PGTMP" ]]; then scripts/pg_tmp.sh stop "$PGTMP" || true; PGTMP=""; fi
}
trap cleanup EXIT
trap 'echo "test.sh: interrupted" >&2; exit 130' INT TERM

record() {  # record SUITE STATUS(0=pass) [note]
  if [[ $2 -eq 0 ]]; then
    passed=$((passed + 1)); results+=("$1: passed${3:+ ($3)}")
  else
    failed=$((failed + 1)); results+=("$1: FAILED${3:+ ($3)}")
  fi
}
skip() { results+=("$1: skipped ($2)"); }

summary() {
  echo
  echo "== summary"
  for r in "${results[@]}"; do echo "  $r"; done
  echo "$passed passed, $failed failed"
}

show_diffs() {  # show_diffs FILE
  if [[ -s "$1" ]]; then
    echo "---- $1 ----"
    cat "$1"
    echo "---- end of $1 ----"
  fi
}

ONLY_PG=${LS_ONLY_PG:-}
if [[ -z $ONLY_PG ]]; then
  echo "== dependencies"
  if ! bash scripts/deps.sh; then
    echo "test.sh: missing dependencies (see above)" >&2
    exit 1
  fi
fi
command -v "$PG_CONFIG" >/dev/null 2>&1 || { echo "test.sh: $PG_CONFIG not found; set PG_CONFIG" >&2; exit 1; }
echo "using $("$PG_CONFIG" --version) from $("$PG_CONFIG" --bindir)"

if [[ -z $ONLY_PG ]]; then
# --- unit: the PostgreSQL-free C++ core -------------------------------------
echo "== unit (CMake + GoogleTest)"
if compgen -G "test/unit/*.cpp" >/dev/null; then
  out=$(mktemp)
  make unit 2>&1 | tee "$out"
  st=${PIPESTATUS[0]}
  if grep -q "No tests were found" "$out"; then
    echo "test.sh: WARNING: ctest found no tests" >&2
    record unit "$st" "ctest found no tests"
  else
    record unit "$st"
  fi
  rm -f "$out"
else
  skip unit "no test/unit/*.cpp yet"
fi

# --- sanitize: the core's unit tests under ASan + UBSan ------------------------
echo "== sanitize (unit tests under AddressSanitizer + UndefinedBehaviorSanitizer)"
make sanitize
record sanitize $?

# --- fuzz: a short libFuzzer run of every target (make fuzz runs them longer) --
echo "== fuzz (libFuzzer smoke: ${FUZZ_SMOKE_SECONDS:-60} s per target)"
make fuzz-smoke FUZZ_SMOKE_SECONDS="${FUZZ_SMOKE_SECONDS:-60}"
record fuzz $?

fi

# --- build and install the extension ----------------------------------------
echo "== build and install ($PG_CONFIG)"
if ! make -j"$JOBS" PG_CONFIG="$PG_CONFIG" || ! make PG_CONFIG="$PG_CONFIG" install; then
  echo "test.sh: build or install failed" >&2
  for s in regress isolation tap upgrade; do record "$s" 1 "build/install failed"; done
  summary
  exit 1
fi

has_regress=$(compgen -G "sql/*.sql" >/dev/null && echo 1 || true)
has_iso=$(compgen -G "test/specs/*.spec" >/dev/null && echo 1 || true)
# The pg_cron and upgrade tests are suites of their own (pg_cron needs
# postgresql-NN-cron).
tap_tests=$(ls test/t/*.pl 2>/dev/null | grep -v -e '_pg_cron\.pl$' -e '_upgrade\.pl$' | tr '\n' ' ' || true)
has_tap=${tap_tests:+1}

# --- pg_regress and isolation against a throwaway server ---------------------
if [[ -n "$has_regress" || -n "$has_iso" ]]; then
  echo "== throwaway server"
  if ! env_line=$(scripts/pg_tmp.sh start); then
    echo "test.sh: could not start a throwaway server" >&2
    [[ -n "$has_regress" ]] && record regress 1 "no server"
    [[ -n "$has_iso" ]] && record isolation 1 "no server"
  else
    eval "$env_line"
    PGTMP=$LS_PGTMP
    echo "server on port $PGPORT ($PGTMP)"

    if [[ -n "$has_regress" ]]; then
      echo "== regress (pg_regress)"
      rm -f regression.diffs
      make PG_CONFIG="$PG_CONFIG" installcheck ISOLATION= TAP_TESTS=
      st=$?
      [[ $st -ne 0 ]] && show_diffs regression.diffs
      record regress "$st"
    else
      skip regress "no sql/*.sql yet"
    fi

    if [[ -n "$has_iso" ]]; then
      echo "== isolation (pg_isolation_regress)"
      rm -f output_iso/regression.diffs
      make PG_CONFIG="$PG_CONFIG" installcheck REGRESS= TAP_TESTS=
      st=$?
      [[ $st -ne 0 ]] && show_diffs output_iso/regression.diffs
      record isolation "$st"
    else
      skip isolation "no test/specs/*.spec yet"
    fi

    scripts/pg_tmp.sh stop "$PGTMP"; PGTMP=""
    unset PGHOST PGPORT PGUSER PGDATABASE LS_PGTMP
  fi
else
  skip regress "no sql/*.sql yet"
  skip isolation "no test/specs/*.spec yet"
fi

# --- TAP: each test starts its own clusters (scripts/tap.sh runs them as an
# unprivileged user when we are root: initdb refuses root) ---------------------
if [[ -n "$has_tap" ]]; then
  echo "== tap (prove)"
  (
    unset PGHOST PGPORT PGUSER PGDATABASE LS_PGTMP
    bash scripts/tap.sh $tap_tests
    st=$?
    if [[ $st -ne 0 ]]; then
      for f in tmp_check/log/regress_log_*; do
        [[ -f $f ]] && { echo "---- last 80 lines of $f ----"; tail -n 80 "$f"; }
      done
    fi
    exit $st
  )
  record tap $?
else
  skip tap "no test/t/*.pl yet"
fi

# --- reference: every function, view and GUC in README's reference table, and
# every function, view and table with a COMMENT ON (scripts/check_reference.sh) --
echo "== reference (README's reference table and COMMENT ON)"
( unset PGHOST PGPORT PGUSER PGDATABASE LS_PGTMP; PG_CONFIG="$PG_CONFIG" bash scripts/check_reference.sh )
record reference $?

# --- upgrade: a database created at the previous release, updated by ALTER
# EXTENSION UPDATE, refreshed, and its extension objects compared with a fresh
# install's (test/t/*_upgrade.pl; doc/packaging.md) ----------------------------
if compgen -G "test/t/*_upgrade.pl" >/dev/null; then
  echo "== upgrade (prove)"
  (
    unset PGHOST PGPORT PGUSER PGDATABASE LS_PGTMP
    bash scripts/tap.sh test/t/*_upgrade.pl
    st=$?
    if [[ $st -ne 0 ]]; then
      for f in tmp_check/log/regress_log_*upgrade*; do
        [[ -f $f ]] && { echo "---- last 80 lines of $f ----"; tail -n 80 "$f"; }
      done
    fi
    exit $st
  )
  record upgrade $?
else
  skip upgrade "no test/t/*_upgrade.pl yet"
fi

# --- pg_cron: refreshes scheduled by pg_cron (test/t/*_pg_cron.pl); it fails
# when pg_cron is not installed for this PostgreSQL -------------------------------
if compgen -G "test/t/*_pg_cron.pl" >/dev/null; then
  echo "== pg_cron (prove; waits for pg_cron's one-minute schedule)"
  (
    unset PGHOST PGPORT PGUSER PGDATABASE LS_PGTMP
    bash scripts/tap.sh test/t/*_pg_cron.pl
    st=$?
    if [[ $st -ne 0 ]]; then
      for f in tmp_check/log/*cron*; do
        [[ -f $f ]] && { echo "---- last 80 lines of $f ----"; tail -n 80 "$f"; }
      done
    fi
    exit $st
  )
  record pg_cron $?
fi

if [[ -z $ONLY_PG ]]; then
  # --- browser: the demo's report in headless Chromium (skipped without
  # chromium, except under CI=true) --------------------------------------------
  echo "== browser (the demo's report in headless Chromium)"
  ( unset PGHOST PGPORT PGUSER PGDATABASE LS_PGTMP; bash test/browser/report.sh )
  st=$?
  if [[ $st -eq 77 ]]; then skip browser "chromium not installed; CI=true makes this a failure"; else record browser "$st"; fi

  # --- pgxn: META.json against the PGXN spec and the control file; make dist --
  echo "== pgxn (META.json, make dist)"
  bash scripts/test_pgxn.sh
  record pgxn $?

  # --- debian: the package, built, linted and installed into a clean root ---
  if [[ -n ${LS_SKIP_SLOW:-} ]]; then
    skip debian "LS_SKIP_SLOW is set"
  else
    echo "== debian (dpkg-buildpackage, lintian, install into a clean bookworm root)"
    bash scripts/test_deb.sh
    record debian $?
  fi

  # --- pg17, pg18: every pg suite on the other supported majors ---------------
  for v in 17 18; do
    if [[ -n ${LS_SKIP_SLOW:-} ]]; then
      skip "pg$v" "LS_SKIP_SLOW is set"
    else
      echo "== pg$v (PostgreSQL $v in a clean Debian root)"
      bash scripts/test_versions.sh "$v"
      record "pg$v" $?
    fi
  done
fi

summary
[[ $failed -eq 0 ]]
