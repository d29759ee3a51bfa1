#!/usr/bin/env bash
# Everything `cargo xtask demo` and the tests need, from a fresh Debian or
# Ubuntu machine: the tools they call, a Docker Engine with BuildKit, qemu for
# arm64 images, and every base image the Dockerfiles name; with
# RCH_ENGINE=current, also a current engine in a container
# (current-engine.sh). Both run it first; it is quick when all is there.
# Installing and starting things needs root: where that cannot be done, it
# stops with the one command to run.
#
# Under a lock (lib.sh's hold_setup_lock), so that test binaries started
# together wait for one another. A run killed half-way leaves nothing that
# looks finished: each step checks the result, not a marker.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export RCH_SELF=$here/provision.sh
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

hold_setup_lock
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
