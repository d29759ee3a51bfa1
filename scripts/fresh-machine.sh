#!/usr/bin/env bash
# Runs a command on a clean clone of this repository, in a "fresh machine": a
# container made from a new Debian 12 root filesystem (mmdebstrap) with this
# host's Rust toolchain mounted read-only, a docker 28 client without buildx
# and no daemon, as a new CI machine has. The command then sets up everything
# else itself, as it must for a user. How the two README commands and .ci/run
# are measured (docs/setup.md).
#
#   scripts/fresh-machine.sh [COMMAND...]    default: bash .ci/run
#
# The engines' data (/var/lib/docker, and /var/lib/rust-container-howto
# where the current engine keeps its own) lives in new host directories, as a
# real machine's is on a real disk: overlayfs does not stack on the
# container's own. They are removed at the end with the container; the
# output goes to stdout and to $RCH_FRESH_DIR/run.log. Needs root and an
# engine on the host (scripts/setup-engine.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export RCH_SELF=$here/fresh-machine.sh
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
need_root "a fresh-machine container"
[ $# -gt 0 ] || set -- bash .ci/run

dir=${RCH_FRESH_DIR:-/var/tmp/rust-container-howto-fresh}
image=rust-container-howto/fresh-machine:bookworm
container=rust-container-howto-fresh-$$
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
cargo_bin=$(dirname "$(command -v cargo)")
command -v mmdebstrap >/dev/null 2>&1 || apt_install "a fresh Debian root filesystem" mmdebstrap
docker=${DOCKER:-docker}

# The root filesystem: Debian's minimal base plus what a new machine here
# has (python3 with pip, git, a C compiler for cargo's linking), and the CAs
# this host trusts and its pip settings, since HTTPS passes a proxy that
# re-signs it.
if ! "$docker" image inspect "$image" >/dev/null 2>&1; then
  mkdir -p "$dir"
  cas=$(find /usr/local/share/ca-certificates -name '*.crt' 2>/dev/null | tr '\n' ' ')
  # The hooks' "$1" is the new root, expanded by mmdebstrap, not here.
  # shellcheck disable=SC2016
  quietly "bootstrapping Debian 12 for the fresh machine" mmdebstrap --variant=minbase \
    --include=ca-certificates,python3,python3-pip,git,gcc,libc6-dev,procps \
    --customize-hook='mkdir -p "$1/usr/local/share/ca-certificates"' \
    --customize-hook="for ca in $cas; do cp \"\$ca\" \"\$1/usr/local/share/ca-certificates/\"; done" \
    --customize-hook='chroot "$1" update-ca-certificates' \
    --customize-hook='[ ! -f /etc/pip.conf ] || cp /etc/pip.conf "$1/etc/pip.conf"' \
    bookworm "$dir/rootfs.tar"
  quietly "importing it as $image" "$docker" import "$dir/rootfs.tar" "$image"
  rm -f "$dir/rootfs.tar"
fi

rm -rf "$dir/clone" "$dir/var-lib-docker" "$dir/var-lib-rch"
mkdir -p "$dir/var-lib-docker" "$dir/var-lib-rch"
git clone -q "$here/.." "$dir/clone"
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  "$docker" rm -f "$container" >/dev/null 2>&1 || true
  rm -rf "$dir/var-lib-docker" "$dir/var-lib-rch" "$dir/clone"
}
trap cleanup EXIT

# What an unprivileged-but-capable container needs to run dockerd, qemu and
# mmdebstrap inside (--privileged is refused on these hosts).
args=(--name "$container" --cap-add ALL --cap-drop SYS_RESOURCE
  --security-opt seccomp=unconfined --security-opt apparmor=unconfined
  --security-opt systempaths=unconfined --cgroupns host
  -v /sys/fs/cgroup:/sys/fs/cgroup -v "$dir/var-lib-docker:/var/lib/docker"
  -v "$dir/var-lib-rch:/var/lib/rust-container-howto"
  -v "$rustup_home:/root/.rustup:ro" -v "$cargo_bin:/root/.cargo/bin:ro"
  -v "$dir/clone:/work/clone" -w /work/clone
  -e PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  -e CI=1 -e TERM=dumb)
[ -x /usr/local/bin/docker ] && args+=(-v /usr/local/bin/docker:/usr/local/bin/docker:ro)
log "running '$*' on a fresh machine (container $container)"
start=$SECONDS
status=0
"$docker" run --rm "${args[@]}" "$image" "$@" 2>&1 | tee "$dir/run.log" || status=$?
log "'$*' ended with status $status after $((SECONDS - start))s (log: $dir/run.log)"
exit "$status"
