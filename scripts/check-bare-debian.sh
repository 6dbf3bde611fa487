#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs the README's two commands as a newcomer would, on a bare Debian 12: debootstraps a minbase
# bookworm system into ROOT_DIR, clones this checkout's HEAD into it (with ../shared bind-mounted
# read-only beside it, when present), and runs scripts/demo.sh and then scripts/test.sh there as
# root, in a chroot. Needs root, network access to Debian's mirror and about 6 GB in ROOT_DIR.
# Usage: sudo scripts/check-bare-debian.sh [ROOT_DIR]   (default /var/tmp/feremotion-bare; must not exist)
set -eu
cd "$(dirname "$0")/.."
CHECKOUT=$PWD
ROOT=${1:-/var/tmp/feremotion-bare}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

[ "$(id -u)" -eq 0 ] || { echo "check-bare-debian: run as root (debootstrap and chroot need it)" >&2; exit 1; }
[ ! -e "$ROOT" ] || { echo "check-bare-debian: $ROOT exists; give a new folder, or remove it" >&2; exit 1; }
command -v debootstrap >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq debootstrap; }

echo "check-bare-debian: debootstrap bookworm (minbase) into $ROOT"
debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" > "$ROOT.debootstrap.log" 2>&1 ||
  { echo "check-bare-debian: debootstrap failed, see $ROOT.debootstrap.log" >&2; exit 1; }

unmount_all() {
  for m in home/newcomer/shared sys dev proc; do
    mountpoint -q "$ROOT/$m" && umount -R "$ROOT/$m"
  done
  return 0
}
trap unmount_all EXIT
mount -t proc proc "$ROOT/proc"
mount --rbind /dev "$ROOT/dev"
mount --rbind /sys "$ROOT/sys"
cp /etc/resolv.conf "$ROOT/etc/"

mkdir -p "$ROOT/home/newcomer"
git clone -q "$CHECKOUT" "$ROOT/home/newcomer/feremotion"
SHARED=${FEREMOTION_SHARED:-$CHECKOUT/../shared}
if [ -d "$SHARED" ]; then
  mkdir -p "$ROOT/home/newcomer/shared"
  mount --bind "$SHARED" "$ROOT/home/newcomer/shared"
  mount -o remount,ro,bind "$ROOT/home/newcomer/shared"
else
  echo "check-bare-debian: no ../shared beside the checkout: the tests that need it will skip"
fi

in_chroot() {
  chroot "$ROOT" /usr/bin/env -i HOME=/root TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/sh -c "cd /home/newcomer/feremotion && $1"
}
start=$(date +%s)
in_chroot scripts/demo.sh
demo_done=$(date +%s)
in_chroot scripts/test.sh
end=$(date +%s)
echo "check-bare-debian: passed on bare Debian 12: demo $((demo_done - start)) s (packages, build and clip)," \
     "tests $((end - demo_done)) s; the system stays in $ROOT"
