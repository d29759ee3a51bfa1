#!/usr/bin/env bash
# Usage: build_dist_release.sh OS ARCH [PACKAGE...]
#
# Gets a Rust builder ready to build release binaries for OS/ARCH (Docker's
# TARGETOS/TARGETARCH, e.g. `linux arm64`) on whatever platform it runs on:
# installs the cross C toolchain (compiler and libc) if the target is foreign,
# and the Debian PACKAGEs the crates need (e.g. libssl-dev pkg-config):
# libraries for the target's architecture, pkg-config for this machine. It
# adds the Rust target with rustup where rustup exists and lacks it, and
# writes the target, its linker and pkg-config's search path for it into
# Cargo's config. `cargo chef cook` and `cargo build` both read that config,
# so dependencies and binary are built with the same settings, and land in
# target/<triple>/release/. Prints the Rust target triple.
set -euo pipefail

die() { printf 'build_dist_release.sh: %s\n' "$*" >&2; exit 2; }

[ "$#" -ge 2 ] || die "expected OS ARCH [PACKAGE...] (e.g. 'linux arm64 libssl-dev'), got $# arguments"
os=$1 arch=$2
shift 2

[ "$os" = linux ] || die "unsupported OS '$os': a Linux container can only build for linux (macOS and Windows binaries need their own SDKs)"
case "$arch" in
  amd64) triple=x86_64-unknown-linux-gnu gnu=x86_64-linux-gnu deb=amd64 ;;
  arm64) triple=aarch64-unknown-linux-gnu gnu=aarch64-linux-gnu deb=arm64 ;;
  *) die "unsupported architecture '$arch': expected amd64 or arm64" ;;
esac

host_triple=$(rustc -vV | sed -n 's/^host: //p')
linker=cc
packages=()
if [ "$triple" != "$host_triple" ]; then
  linker=$gnu-gcc
  command -v "$linker" >/dev/null 2>&1 || packages+=("gcc-$gnu" "libc6-dev-$deb-cross")
fi
for package in "$@"; do
  case "$package" in
    # Tools run on this machine; libraries are linked into the target's binary.
    pkg-config | pkgconf) packages+=("$package") ;;
    *) if [ "$triple" = "$host_triple" ]; then packages+=("$package"); else packages+=("$package:$deb"); fi ;;
  esac
done
if [ "${#packages[@]}" -gt 0 ]; then
  [ "$triple" = "$host_triple" ] || dpkg --add-architecture "$deb"
  apt-get update
  apt-get install -y --no-install-recommends "${packages[@]}"
  rm -rf /var/lib/apt/lists/*
fi

if command -v rustup >/dev/null 2>&1; then
  rustup target list --installed | grep -qx "$triple" || rustup target add "$triple"
elif [ ! -d "$(rustc --print sysroot)/lib/rustlib/$triple" ]; then
  die "no Rust standard library for $triple, and no rustup to add it"
fi

# Overwritten, not appended, so that running this twice stays valid TOML.
config=${CARGO_HOME:-$HOME/.cargo}/config.toml
mkdir -p "$(dirname "$config")"
cat >"$config" <<TOML
# Written by build_dist_release.sh $os $arch
[build]
target = "$triple"

[target.$triple]
linker = "$linker"
TOML
if [ "$triple" != "$host_triple" ]; then
  # -sys crates that find their C library with pkg-config (openssl-sys) must
  # read the target architecture's .pc files, not this machine's.
  cat >>"$config" <<TOML

[env]
PKG_CONFIG_ALLOW_CROSS_${triple//-/_} = "1"
PKG_CONFIG_LIBDIR_${triple//-/_} = "/usr/lib/$gnu/pkgconfig:/usr/share/pkgconfig"
TOML
fi
echo "$triple"
