#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs the README's two commands as a newcomer would, on a bare Debian 12 (bookworm) or Debian 13
# (trixie): debootstraps a minbase system into ROOT_DIR, clones this checkout's HEAD into it (with
# ../shared bind-mounted read-only beside it, when present), and runs scripts/demo.sh and then
# scripts/test.sh there as root, in a chroot. Needs root, network access to Debian's mirror and
# about 6 GB in ROOT_DIR.
#
# Usage: sudo scripts/check-bare-debian.sh [RELEASE] [ROOT_DIR] [TEST...]
#   RELEASE   12 or bookworm (default), 13 or trixie
#   ROOT_DIR  default /var/tmp/feremotion-bare-RELEASE. A new folder is debootstrapped from nothing.
#             A folder this script made before is used again (its packages stay, the clone and
#             build are made anew): the quick way to check a change on both releases before it lands.
#   TEST      test suites for scripts/test.sh (meson test's names, e.g. engine element); default all
# Only committed work is checked: the clone is of HEAD.
set -eu
cd "$(dirname "$0")/.."
CHECKOUT=$PWD
case "${1:-12}" in
  12 | bookworm) RELEASE=bookworm NUMBER=12 ;;
  13 | trixie) RELEASE=trixie NUMBER=13 ;;
  *) echo "check-bare-debian: unknown release '$1' (12, bookworm, 13 or trixie)" >&2; exit 2 ;;
esac
ROOT=${2:-/var/tmp/feremotion-bare-$RELEASE}
TESTS=""
if [ $# -gt 2 ]; then
  shift 2
  TESTS="$*"
fi
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
MARKER=$ROOT/etc/feremotion-bare-debian

[ "$(id -u)" -eq 0 ] || { echo "check-bare-debian: run as root (debootstrap and chroot need it)" >&2; exit 1; }
if [ -e "$ROOT" ] && [ "$(cat "$MARKER" 2>/dev/null)" != "$RELEASE" ]; then
  echo "check-bare-debian: $ROOT exists and is not a $RELEASE system this script made; give a new folder" >&2
  exit 1
fi
command -v debootstrap >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq debootstrap; }

fresh=0
if [ ! -e "$ROOT" ]; then
  fresh=1
  echo "check-bare-debian: debootstrap $RELEASE (minbase) into $ROOT"
  debootstrap --variant=minbase "$RELEASE" "$ROOT" "$MIRROR" > "$ROOT.debootstrap.log" 2>&1 ||
    { echo "check-bare-debian: debootstrap failed, see $ROOT.debootstrap.log" >&2; exit 1; }
  echo "$RELEASE" > "$MARKER"
else
  echo "check-bare-debian: using the $RELEASE system in $ROOT again (its packages stay; a new clone)"
fi

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
rm -rf "$ROOT/home/newcomer/feremotion"
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
echo "check-bare-debian: Debian $(cat "$ROOT/etc/debian_version") in $ROOT"
start=$(date +%s)
in_chroot scripts/demo.sh
demo_done=$(date +%s)
in_chroot "scripts/test.sh $TESTS"
end=$(date +%s)
from=$([ "$fresh" = 1 ] && echo "from nothing: packages, build and clip" || echo "packages present: build and clip")
echo "check-bare-debian: passed on bare Debian $NUMBER ($RELEASE): demo $((demo_done - start)) s ($from)," \
     "tests $((end - demo_done)) s; the system stays in $ROOT"
