#!/usr/bin/env bash
# Runs libFuzzer targets built in build/fuzz (see `make fuzz`).
#   test/fuzz/run.sh SECONDS JOBS target...
# Each target runs SECONDS seconds (wall clock), JOBS targets at a time, on a
# working corpus build/fuzz/corpus/<target> seeded from test/fuzz/corpus/<target>.
# A crash leaves its input in build/fuzz/artifacts/<target>/ and makes this
# script fail; reproduce with build/fuzz/<target>_fuzz <file>.
set -uo pipefail
secs=${1:?seconds}; jobs=${2:?jobs}; shift 2
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/fuzz
run_one() {
  local t=$1 secs=$2 root=$3 out=$4
  mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
  local extra=()
  [[ -f "$root/test/fuzz/$t.dict" ]] && extra+=("-dict=$root/test/fuzz/$t.dict")
  [[ -f "$root/test/fuzz/$t.options" ]] && read -r -a opts <"$root/test/fuzz/$t.options" && extra+=("${opts[@]}")
  if "$out/${t}_fuzz" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$out/artifacts/$t/" "${extra[@]}" "$out/corpus/$t" "$root/test/fuzz/corpus/$t" \
      >"$out/$t.log" 2>&1; then
    echo "fuzz $t: ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$out/$t.log" | grep -o '[0-9]*$') runs in ${secs}s, corpus $(ls "$out/corpus/$t" | wc -l))"
  else
    echo "fuzz $t: FAILED, see $out/$t.log and $out/artifacts/$t/"; tail -n 40 "$out/$t.log"; return 1
  fi
}
export -f run_one
printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} "$secs" "$root" "$out"
