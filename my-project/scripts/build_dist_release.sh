#!/usr/bin/env bash
# Usage: build_dist_release.sh OS ARCH
#
# Gets a Rust builder ready to build release binaries for OS/ARCH (Docker's
# TARGETOS/TARGETARCH, e.g. `linux arm64`) on whatever platform it runs on:
# installs the cross C toolchain (linker and libc) if the target is foreign,
# adds the Rust target with rustup where rustup exists and lacks it, and writes
# the target and its linker into Cargo's config. `cargo chef cook` and
# `cargo build` both read that config, so dependencies and binary are built
# with the same target and linker, and land in target/<triple>/release/.
# Prints the Rust target triple.
set -euo pipefail

die() { printf 'build_dist_release.sh: %s\n' "$*" >&2; exit 2; }

[ "$#" -eq 2 ] || die "expected 2 arguments (OS ARCH, e.g. 'linux arm64'), got $#"
os=$1 arch=$2

[ "$os" = linux ] || die "unsupported OS '$os': a Linux container can only build for linux (macOS and Windows binaries need their own SDKs)"
case "$arch" in
  amd64) triple=x86_64-unknown-linux-gnu gnu=x86_64-linux-gnu deb=amd64 ;;
  arm64) triple=aarch64-unknown-linux-gnu gnu=aarch64-linux-gnu deb=arm64 ;;
  *) die "unsupported architecture '$arch': expected amd64 or arm64" ;;
esac

host_triple=$(rustc -vV | sed -n 's/^host: //p')
linker=cc
if [ "$triple" != "$host_triple" ]; then
  linker=$gnu-gcc
  if ! command -v "$linker" >/dev/null 2>&1; then
    apt-get update
    apt-get install -y --no-install-recommends "gcc-$gnu" "libc6-dev-$deb-cross"
    rm -rf /var/lib/apt/lists/*
  fi
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
echo "$triple"
