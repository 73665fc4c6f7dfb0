#!/bin/sh
# Installs what `npm run build:camera-app` and native/native.test.ts need on a fresh Debian machine:
# the aarch64 cross compiler, qemu user-mode emulation, a local mosquitto broker for the test, and
# the arm64 builds of libsodium (Ed25519) and libmosquitto (MQTT client) — the camera package bundles
# them under lib/ — and the arm64 glib headers, against which `make check-hal-axis` compiles the
# real-camera HAL with the SDK declarations in native/sdk-decl/.
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

HOST_PKGS="gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static mosquitto make pkg-config"
# libc6:arm64 (pulled in by these) provides /lib/ld-linux-aarch64.so.1, the loader path AXIS OS has,
# which the simulator hands to qemu for the camera package.
ARM64_PKGS="libsodium-dev:arm64 libmosquitto-dev:arm64 libglib2.0-dev:arm64"

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
      echo "setup-cross: the arm64 -dev libraries could not all be installed (see above)" >&2
      exit 1
    fi
  fi
fi

# Report what the build will find.
for f in /usr/bin/aarch64-linux-gnu-gcc /usr/bin/aarch64-linux-gnu-readelf /usr/bin/qemu-aarch64-static /usr/sbin/mosquitto \
         /usr/include/sodium.h /usr/lib/aarch64-linux-gnu/libsodium.so /usr/lib/aarch64-linux-gnu/libmosquitto.so \
         /lib/aarch64-linux-gnu/ld-linux-aarch64.so.1 /usr/lib/aarch64-linux-gnu/pkgconfig/glib-2.0.pc; do
  if [ -e "$f" ]; then echo "setup-cross: ok      $f"; else echo "setup-cross: MISSING $f" >&2; fi
done
[ -e /usr/lib/aarch64-linux-gnu/libsodium.so ] || { echo "setup-cross: libsodium for arm64 is required" >&2; exit 1; }
echo "setup-cross: done"
