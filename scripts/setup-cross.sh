#!/bin/sh
# Installs what `npm run build:camera-app` and native/native.test.ts need on a fresh Debian machine:
# the aarch64 cross compiler, qemu user-mode emulation, a local mosquitto broker for the test, and
# the arm64 builds of libsodium (Ed25519) and libmosquitto (MQTT client).
# Idempotent: packages already present are skipped, and a second run changes nothing.
# Run as root (or with sudo available). Exit status 0 means the build and the qemu test can run.
set -eu

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup-cross: run as root (or install sudo): apt-get needs it" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive

HOST_PKGS="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static mosquitto make pkg-config"
ARM64_PKGS="libsodium-dev:arm64 libmosquitto-dev:arm64"

missing() {
  out=""
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then out="$out $p"; fi
  done
  echo "$out"
}

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "setup-cross: adding the arm64 architecture to dpkg"
  $SUDO dpkg --add-architecture arm64
  NEED_UPDATE=1
fi

# shellcheck disable=SC2086
TODO_HOST=$(missing $HOST_PKGS)
# shellcheck disable=SC2086
TODO_ARM=$(missing $ARM64_PKGS)

if [ -z "$TODO_HOST" ] && [ -z "$TODO_ARM" ]; then
  echo "setup-cross: everything is installed already"
else
  echo "setup-cross: apt-get update"
  $SUDO apt-get update -q
  if [ -n "$TODO_HOST" ]; then
    echo "setup-cross: installing$TODO_HOST"
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -q --no-install-recommends $TODO_HOST
  fi
  if [ -n "$TODO_ARM" ]; then
    echo "setup-cross: installing$TODO_ARM"
    # shellcheck disable=SC2086
    if ! $SUDO apt-get install -y -q --no-install-recommends $TODO_ARM; then
      # Fallback: the C app speaks MQTT 3.1.1 itself (native/src/mqtt.c), so only libsodium is required.
      echo "setup-cross: the arm64 -dev libraries could not all be installed; trying libsodium alone" >&2
      $SUDO apt-get install -y -q --no-install-recommends libsodium-dev:arm64
    fi
  fi
fi

# Report what the build will find.
for f in /usr/bin/aarch64-linux-gnu-gcc /usr/bin/qemu-aarch64-static /usr/sbin/mosquitto \
         /usr/include/sodium.h /usr/lib/aarch64-linux-gnu/libsodium.so; do
  if [ -e "$f" ]; then echo "setup-cross: ok      $f"; else echo "setup-cross: MISSING $f" >&2; fi
done
[ -e /usr/lib/aarch64-linux-gnu/libsodium.so ] || { echo "setup-cross: libsodium for arm64 is required" >&2; exit 1; }
echo "setup-cross: done"
