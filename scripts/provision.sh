#!/usr/bin/env bash
# Everything `cargo xtask demo` and the tests need, from a fresh Debian or
# Ubuntu machine: the tools they call, a Docker Engine with BuildKit, qemu for
# arm64 images, and every base image the Dockerfiles name; with
# RCH_ENGINE=current, also a current engine in a container
# (current-engine.sh). Both run it first; it is quick when all is there.
# Installing and starting things needs root: where that cannot be done, it
# stops with the one command to run.
#
# Under a lock, so that test binaries started together wait for one another
# instead of installing the same thing twice. A run killed half-way leaves
# nothing that looks finished: each step checks the result, not a marker.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export RCH_SELF=$here/provision.sh
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

lock=${TMPDIR:-/tmp}/rust-container-howto-provision.$(id -u).lock
exec 9>"$lock"
# The processes that have the lock open, for the message when it is not freed.
lock_holders() {
  local fd
  for fd in /proc/[0-9]*/fd/*; do
    [ "$(readlink "$fd" 2>/dev/null)" = "$lock" ] || continue
    fd=${fd#/proc/}
    printf ' %s (%s)' "${fd%%/*}" "$(tr '\0' ' ' <"/proc/${fd%%/*}/cmdline" 2>/dev/null)"
  done
}
if ! flock -n 9; then
  log "another run is provisioning (lock: $lock); waiting for it"
  # A fresh machine's set-up takes about 6 minutes; far longer means a stuck holder.
  flock -w 1800 9 || die "the lock $lock was not freed in 30 minutes; it is held by:$(lock_holders)"
fi
start=$SECONDS

# curl decides between pulling and the offline mirror: without it, a
# connected machine would look offline.
command -v curl >/dev/null 2>&1 || apt_install "checking which registries answer" curl ca-certificates
# The tests' own tools: a TLS server for the native fixture, an ELF reader.
command -v openssl >/dev/null 2>&1 || apt_install "the TLS tests' server" openssl
command -v readelf >/dev/null 2>&1 || apt_install "reading the binaries' ELF headers" binutils

case "${RCH_ENGINE:-legacy}" in
  legacy|current) ;;
  *) die "RCH_ENGINE must be legacy or current, not '$RCH_ENGINE'" ;;
esac
# The tests reach the current engine through DOCKER_HOST (testcontainers reads
# nothing else); the host's engine, set up here first, is at its own socket.
[ "${DOCKER_HOST:-}" != "unix://$RCH_STATE_DIR/current/run/docker.sock" ] || unset DOCKER_HOST
"$here/setup-engine.sh"
"$here/base-images.sh"
# The current engine runs in a container of the host's, from the base images.
[ "${RCH_ENGINE:-legacy}" = legacy ] || "$here/current-engine.sh"
log "provisioned in $((SECONDS - start))s"
