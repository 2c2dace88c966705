#!/usr/bin/env bash
# The demo's report seen in a real browser: runs scripts/demo.sh (which writes
# report.html from lead_scoring.report('demo_backtest')), renders the page with
# Debian's headless Chromium (no network, a fresh profile), and checks that it
# loads, that it prints on one page, that every chart is drawn (its marks carry data-value in the DOM the
# browser built) and that the drawn numbers equal SQL over the demo's tables
# (test/browser/check_report.sql).
#
#   bash test/browser/report.sh            # PG_CONFIG as for scripts/demo.sh
#   BROWSER_SCREENSHOT=doc/report.png bash test/browser/report.sh   # keep the screenshot
#
# Exit status: 0 pass, 1 fail, 77 skipped (no chromium, and CI is not "true":
# in CI a missing chromium is a failure).
set -uo pipefail

cd "$(dirname "$0")/../.."
export PG_CONFIG=${PG_CONFIG:-pg_config}
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [[ -z $CHROMIUM ]]; then
  if [[ ${CI:-} == true ]]; then
    echo "browser: chromium is not installed and CI=true: failing (apt-get install chromium)" >&2
    exit 1
  fi
  echo "browser: SKIPPED: chromium is not installed (apt-get install chromium); with CI=true this is a failure" >&2
  exit 77
fi

WORK=$(mktemp -d)
PGTMP=""
cleanup() {
  if [[ -n $PGTMP ]]; then scripts/pg_tmp.sh stop "$PGTMP" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "browser: FAILED: $*" >&2; exit 1; }

echo "browser: running scripts/demo.sh --keep (log: demo.log on failure)"
if ! DEMO_REPORT="$WORK/report.html" bash scripts/demo.sh --keep >"$WORK/demo.log" 2>&1; then
  tail -n 40 "$WORK/demo.log" >&2
  fail "scripts/demo.sh failed"   # it stops its server itself when it fails
fi
PGTMP=$(sed -n "s/.*pg_tmp.sh stop '\(.*\)'.*/\1/p" "$WORK/demo.log" | tail -n 1)
conn=$(grep -o "export PGHOST=.*PGDATABASE=postgres" "$WORK/demo.log" | tail -n 1)
[[ -n $PGTMP && -n $conn ]] || fail "could not find the demo's server in its output"
eval "$conn"
grep -q "report written to $WORK/report.html" "$WORK/demo.log" || fail "demo.sh did not say where the report is"
[[ -s $WORK/report.html ]] || fail "no report.html"

# A fresh profile, no network of any kind: the page must need none.
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir="$WORK/profile" --hide-scrollbars
       --disable-dev-shm-usage --host-resolver-rules="MAP * ~NOTFOUND" --enable-logging=stderr --v=0)
url="file://$WORK/report.html"
timeout 180 "$CHROMIUM" "${flags[@]}" --dump-dom "$url" >"$WORK/dom.html" 2>"$WORK/chromium-dom.log" ||
  { tail -n 20 "$WORK/chromium-dom.log" >&2; fail "chromium --dump-dom failed"; }
timeout 180 "$CHROMIUM" "${flags[@]}" --window-size=1280,1560 --screenshot="$WORK/report.png" "$url" \
  >"$WORK/chromium-shot.log" 2>&1 || { tail -n 20 "$WORK/chromium-shot.log" >&2; fail "chromium --screenshot failed"; }

timeout 180 "$CHROMIUM" "${flags[@]}" --no-pdf-header-footer --print-to-pdf="$WORK/report.pdf" "$url" \
  >"$WORK/chromium-pdf.log" 2>&1 || { tail -n 20 "$WORK/chromium-pdf.log" >&2; fail "chromium --print-to-pdf failed"; }

grep -q '</html>' "$WORK/dom.html" || fail "the DOM dump is not a whole page"
# Printed, it is one A4 landscape page (the report's @page and print rules).
pages=$(grep -ao '/Type /Page\b' "$WORK/report.pdf" | wc -l)
[[ $pages -eq 1 ]] || fail "the printed report has $pages pages, not 1"
# Console messages (a script error, a refused load) would be logged as CONSOLE lines.
if grep -h 'CONSOLE' "$WORK/chromium-dom.log" "$WORK/chromium-shot.log" "$WORK/chromium-pdf.log"; then fail "the page logged to the console"; fi
size=$(stat -c %s "$WORK/report.png" 2>/dev/null || echo 0)
[[ $size -gt 20000 ]] || fail "screenshot missing or blank ($size bytes)"
[[ $(head -c 8 "$WORK/report.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "screenshot is not a PNG"

out=$("$("$PG_CONFIG" --bindir)/psql" -X -q -At -v ON_ERROR_STOP=1 -v dom="$(cat "$WORK/dom.html")" \
      -f test/browser/check_report.sql 2>&1) || { echo "$out" >&2; fail "check_report.sql failed"; }
if [[ -n $out ]]; then
  echo "$out" >&2
  fail "the drawn numbers differ from SQL (failed checks above)"
fi

if [[ -n ${BROWSER_SCREENSHOT:-} ]]; then cp "$WORK/report.png" "$BROWSER_SCREENSHOT"; echo "browser: screenshot saved to $BROWSER_SCREENSHOT"; fi
echo "browser: the demo's report loads in $("$CHROMIUM" --version 2>/dev/null | head -n 1); all 6 charts drawn; their numbers match SQL; prints on 1 page"
