# Helpers for the scripts that test in clean Debian roots (test_versions.sh,
# test_deb.sh): source it. Needs root and debootstrap.
#   root_mirror                 the Debian mirror: LS_DEBIAN_MIRROR, else the one /etc/apt uses
#   root_bootstrap SUITE DIR    debootstrap --variant=minbase (skipped when DIR is complete)
#   root_prepare DIR            no services, apt tolerant of an expired Valid-Until, mounts
#   root_umount_all             unmounts what root_prepare mounted (call from an EXIT trap)
#   timed LABEL CMD...          runs CMD and prints how long it took

ROOT_MOUNTS=()
# The timings go to the script's stdout even when CMD's output is redirected.
exec {TIMING_FD}>&1

timed() {
  local label=$1 t0=$SECONDS st=0
  shift
  "$@" || st=$?
  echo "timing: $label: $((SECONDS - t0)) s (exit $st)" >&"$TIMING_FD"
  return $st
}

root_mirror() {
  local m=${LS_DEBIAN_MIRROR:-}
  if [[ -z $m ]]; then
    m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
      | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n 1 | tr -d ' ' || true)
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

root_bootstrap() {  # SUITE DIR
  local suite=$1 dir=$2 script=/usr/share/debootstrap/scripts/$1 mirror
  mirror=$(root_mirror)
  [[ -e $dir/.ls_bootstrapped ]] && return 0
  command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; return 1; }
  # A release newer than this host's debootstrap knows is bootstrapped like sid.
  [[ -e $script ]] || script=/usr/share/debootstrap/scripts/sid
  rm -rf --one-file-system "$dir"
  if ! timed "debootstrap $suite" debootstrap --variant=minbase "$suite" "$dir" "$mirror" "$script" >"$dir.debootstrap.log" 2>&1; then
    tail -n 20 "$dir.debootstrap.log" >&2
    echo "cannot bootstrap Debian $suite from $mirror" >&2
    return 1
  fi
  touch "$dir/.ls_bootstrapped"
}

root_prepare() {  # DIR
  local dir=$1 m
  # A testing release's Release file carries a Valid-Until date that a frozen
  # mirror snapshot may have passed.
  echo 'Acquire::Check-Valid-Until "false";' >"$dir/etc/apt/apt.conf.d/99ls-valid-until"
  # Nothing that a package installs starts as a service inside the root.
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
  chmod 755 "$dir/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
  for m in proc sys dev dev/pts; do
    mountpoint -q "$dir/$m" && continue
    mkdir -p "$dir/$m"
    mount --bind "/$m" "$dir/$m"
    ROOT_MOUNTS+=("$dir/$m")
  done
}

root_umount_all() {
  local i
  for ((i = ${#ROOT_MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${ROOT_MOUNTS[i]}" 2>/dev/null || umount -l "${ROOT_MOUNTS[i]}" 2>/dev/null || true
  done
  ROOT_MOUNTS=()
}
