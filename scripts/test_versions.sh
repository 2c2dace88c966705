#!/usr/bin/env bash
# Builds and tests lead_scoring against other PostgreSQL majors, each in a clean
# Debian root made with debootstrap: 17 in trixie, 18 in forky. In the root it
# installs postgresql-NN, postgresql-server-dev-NN, postgresql-NN-cron and the
# build dependencies, copies this tree in, runs the pg_regress, isolation
# and TAP suites there (scripts/test.sh with LS_ONLY_PG=1), and builds that
# release's postgresql-NN-lead-scoring package (dpkg-buildpackage, nocheck:
# the suites just ran).
#
#   bash scripts/test_versions.sh [MAJOR ...]      # default: 17 18; as root
#
# A major whose release or packages cannot be had fails (exit 1) with a
# message; nothing is skipped. Environment:
#   LS_ROOTS_DIR     keep the roots in this folder and reuse them on the next
#                    run (default: a temporary folder, removed at exit)
#   LS_DEBIAN_MIRROR the Debian mirror (default: the one /etc/apt uses)
set -euo pipefail

cd "$(dirname "$0")/.."
SRC=$(pwd)

declare -A SUITE=([17]=trixie [18]=forky)
majors=("$@")
[[ ${#majors[@]} -eq 0 ]] && majors=(17 18)

die() { echo "test_versions: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot, mount)"
. scripts/debian_root.sh
mirror=$(root_mirror)

if [[ -n ${LS_ROOTS_DIR:-} ]]; then
  roots=$LS_ROOTS_DIR; keep=1
else
  roots=$(mktemp -d /tmp/ls_roots.XXXXXX); keep=0
fi
mkdir -p "$roots"

cleanup() {
  root_umount_all
  if [[ $keep -eq 0 ]]; then rm -rf --one-file-system "$roots"; fi
}
trap cleanup EXIT
trap 'echo "test_versions: interrupted" >&2; exit 130' INT TERM

make_root() {  # make_root MAJOR SUITE ROOT
  local v=$1 suite=$2 root=$3
  root_bootstrap "$suite" "$root" || die "PostgreSQL $v: no Debian $suite root"
  root_prepare "$root"
  local pkgs="postgresql-$v postgresql-server-dev-$v postgresql-$v-cron nlohmann-json3-dev libre2-dev g++ make
    pkg-config libipc-run-perl build-essential dpkg-dev debhelper postgresql-server-dev-all"
  # A kept root remembers what it has installed.
  if [[ $(cat "$root/.ls_packages_$v" 2>/dev/null) != "$pkgs" ]]; then
    timed "PostgreSQL $v: apt-get install" chroot "$root" env DEBIAN_FRONTEND=noninteractive sh -c "
      apt-get update -q && apt-get install -y -q --no-install-recommends $(echo $pkgs)" >"$root.apt.log" 2>&1 \
      || { tail -n 20 "$root.apt.log" >&2; die "PostgreSQL $v: cannot install postgresql-$v and the build dependencies from Debian $suite"; }
    echo "$pkgs" >"$root/.ls_packages_$v"
  fi
}

copy_tree() {  # copy_tree DEST: the tracked and untracked (not ignored) files
  rm -rf --one-file-system "$1"; mkdir -p "$1"
  if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$SRC" ls-files -z -co --exclude-standard | (cd "$SRC" && tar --null -cf - -T -) | tar -xf - -C "$1"
  else
    tar -C "$SRC" --exclude=./build --exclude=./tmp_check --exclude='*.o' --exclude='*.so' -cf - . | tar -xf - -C "$1"
  fi
}

rc=0
for v in "${majors[@]}"; do
  suite=${SUITE[$v]:-}
  [[ -n $suite ]] || die "PostgreSQL $v: no Debian release known for it (known: ${!SUITE[*]})"
  root=$roots/$suite
  echo "== PostgreSQL $v in Debian $suite ($mirror, root $root)"
  make_root "$v" "$suite" "$root"
  copy_tree "$root/build/lead_scoring"
  if ! timed "PostgreSQL $v: build and test" chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
      LANG=C.UTF-8 LS_ONLY_PG=1 PG_CONFIG=/usr/lib/postgresql/$v/bin/pg_config \
      bash /build/lead_scoring/scripts/test.sh; then
    echo "test_versions: PostgreSQL $v: FAILED" >&2
    rc=1
  fi
  # The release's package, postgresql-NN-lead-scoring (its tests ran above).
  copy_tree "$root/build/pkg/lead_scoring"
  if timed "PostgreSQL $v: dpkg-buildpackage" chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
      LANG=C.UTF-8 PG_UPDATECONTROL=yes DEB_BUILD_OPTIONS=nocheck sh -c \
      'cd /build/pkg/lead_scoring && dpkg-buildpackage -us -uc -b -Pnocheck' >"$root.deb.log" 2>&1 \
    && deb=$(ls "$root"/build/pkg/postgresql-"$v"-lead-scoring_*.deb 2>/dev/null) \
    && dpkg-deb -c "$deb" | grep "/usr/lib/postgresql/$v/lib/lead_scoring.so" >/dev/null; then
    echo "test_versions: PostgreSQL $v: built $(basename "$deb")"
  else
    tail -n 40 "$root.deb.log" >&2
    echo "test_versions: PostgreSQL $v: the package postgresql-$v-lead-scoring did not build" >&2
    rc=1
  fi
done
exit $rc
