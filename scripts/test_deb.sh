#!/usr/bin/env bash
# The Debian package, end to end (doc/packaging.md):
#  1. builds it from a copy of this tree with `dpkg-buildpackage -us -uc -b`
#     (pg_buildext; the pg_regress suites run at build time),
#  2. runs lintian on it: any error fails,
#  3. installs the .deb with `apt-get install ./...deb` into a clean Debian 12
#     (bookworm) root made with debootstrap, starts the cluster that
#     postgresql-common creates, and checks CREATE EXTENSION and one refresh.
#   bash scripts/test_deb.sh      # as root; needs debhelper, postgresql-server-dev-all,
#                                 # postgresql-all, lintian, debootstrap
# LS_ROOTS_DIR: keep a pristine bookworm root there and test in a copy of it
# (default: bootstrap one in a temporary folder, removed at exit).
set -euo pipefail

cd "$(dirname "$0")/.."
SRC=$(pwd)
die() { echo "test_deb: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot, mount)"
. scripts/debian_root.sh

work=$(mktemp -d /tmp/ls_deb.XXXXXX)
chmod 755 "$work"  # the build-time test server (user postgres) reads debian/ in it
root=$work/root
cleanup() {
  if [[ -x $root/usr/bin/pg_ctlcluster ]]; then
    chroot "$root" pg_ctlcluster 15 main stop -m immediate >/dev/null 2>&1 || true
  fi
  root_umount_all
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'echo "test_deb: interrupted" >&2; exit 130' INT TERM

# --- 1. build ------------------------------------------------------------------
mkdir -p "$work/src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z -co --exclude-standard | tar --null -cf - -T - | tar -xf - -C "$work/src"
else
  tar --exclude=./build --exclude=./tmp_check --exclude='*.o' --exclude='*.so' -cf - . | tar -xf - -C "$work/src"
fi
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
ext_version=$(sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" lead_scoring.control)
[[ ${version%%-*} == "$ext_version" ]] || die "debian/changelog is at $version, lead_scoring.control at $ext_version"
if ! (cd "$work/src" && timed "dpkg-buildpackage" dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1); then
  tail -n 80 "$work/build.log"
  die "dpkg-buildpackage failed"
fi
grep -E '^### PostgreSQL .* installcheck|tests (passed|failed)' "$work/build.log" || true
deb=$work/postgresql-15-lead-scoring_${version}_amd64.deb
[[ -s $deb ]] || die "no $(basename "$deb") was built"
dpkg-deb -c "$deb" | grep -E 'lead_scoring(\.so|\.control|--)' | awk '{print "  " $NF}'

# --- 2. lintian ------------------------------------------------------------------
echo "lintian:"
if ! lintian --fail-on error "$deb" "$work"/*.changes; then
  die "lintian reports errors"
fi

# --- 3. install into a clean bookworm root --------------------------------------
if [[ -n ${LS_ROOTS_DIR:-} ]]; then
  mkdir -p "$LS_ROOTS_DIR"
  root_bootstrap bookworm "$LS_ROOTS_DIR/bookworm" || die "no Debian bookworm root"
  timed "copy the pristine bookworm root" cp -a "$LS_ROOTS_DIR/bookworm" "$root"
else
  root_bootstrap bookworm "$root" || die "no Debian bookworm root"
fi
root_prepare "$root"
# What an installed bookworm has: the point-release updates and security
# updates too (the package depends on the postgresql-15 it was built with).
mirror=$(root_mirror)
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' \
  "$mirror" "$mirror" "${mirror%/debian*}/debian-security" >"$root/etc/apt/sources.list"
cp "$deb" "$root/tmp/"
if ! timed "apt-get install ./$(basename "$deb")" chroot "$root" env DEBIAN_FRONTEND=noninteractive sh -c \
    "apt-get update -q && apt-get install -y -q --no-install-recommends ./tmp/$(basename "$deb")" >"$work/apt.log" 2>&1; then
  tail -n 30 "$work/apt.log"
  die "apt-get install ./$(basename "$deb") failed in a clean bookworm root"
fi
chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 pg_ctlcluster 15 main start || die "the cluster 15/main does not start"

# env -i: no PGHOST/PGPORT of a server outside the root leaks in.
out=$(chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -At <<'SQL'
CREATE EXTENSION lead_scoring;
SELECT extversion FROM pg_extension WHERE extname = 'lead_scoring';
CREATE TABLE leads (id int PRIMARY KEY, title text, props jsonb NOT NULL DEFAULT '{}');
INSERT INTO leads VALUES (1, 'VP Sales'), (2, 'Intern'), (3, 'VP Marketing');
CREATE TABLE events (lead_id int, event_type text, occurred_at timestamptz);
INSERT INTO events VALUES (2, 'visit', '2026-01-01 00:00+00');
INSERT INTO lead_scoring.model (name, spec) VALUES ('pkg', '{
 "fit": {"rules": [{"field": "title", "contains": "vp", "points": 10}]},
 "activity": {"events": {"visit": {"points": 1}}},
 "source": {"leads": {"table": "public.leads", "id": "id", "properties": "props"},
            "events": {"table": "public.events", "lead_id": "lead_id", "type": "event_type", "time": "occurred_at"},
            "target": "public.ranking_pkg"}}');
SELECT lead_scoring.refresh('pkg', '2026-01-01 00:00+00');
SELECT string_agg(lead_id || ':' || score || ':' || rank, ' ' ORDER BY lead_id) FROM public.ranking_pkg_ranked;
SQL
) || die "CREATE EXTENSION or the refresh failed in the installed package"
echo "installed package says: $(tr '\n' '|' <<<"$out")"
# By hand (rank read from the _ranked view): leads 1 and 3 match the rule (10
# points, rank 1); lead 2 has one visit at as_of (activity 1, no decay yet:
# rank 3).
expected="$ext_version"$'\n3\n1:10:1 2:1:3 3:10:1'
[[ $out == "$expected" ]] || die "expected $(tr '\n' '|' <<<"$expected")"
echo "test_deb: package $version built, lintian clean, installed and refreshed in a clean bookworm root"
