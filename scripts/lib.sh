# shellcheck shell=bash
# Helpers shared by the scripts in this folder. Source it; do not run it.

# Where the offline Docker Hub mirror (a registry on loopback) keeps its state.
RCH_STATE_DIR=${RCH_STATE_DIR:-/var/lib/rust-container-howto}
# Its address: RCH_MIRROR_ADDR if set (the mirror then remembers it, in
# $RCH_STATE_DIR/mirror-addr), else the address remembered, else port 5000.
RCH_MIRROR_ADDR=${RCH_MIRROR_ADDR:-$(cat "$RCH_STATE_DIR/mirror-addr" 2>/dev/null || echo 127.0.0.1:5000)}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Starts a daemon that outlives this script, in its own session, its output in
# LOG. Fd 9 is closed: it is provision.sh's lock, and a daemon that inherited
# it would hold the lock for its whole life, so the next set-up would wait for
# it forever.
start_detached() {
  local log=$1; shift
  setsid nohup "$@" >"$log" 2>&1 </dev/null 9>&- &
}

# Takes the set-up's lock (fd 9), so that set-ups started together wait for
# one another instead of installing, or starting, the same thing twice. A
# script that provision.sh runs inherits fd 9, and with it the lock, so its
# own call returns at once.
hold_setup_lock() {
  RCH_LOCK=${TMPDIR:-/tmp}/rust-container-howto-provision.$(id -u).lock
  [ "$(readlink /proc/$$/fd/9 2>/dev/null)" = "$RCH_LOCK" ] || exec 9>"$RCH_LOCK"
  flock -n 9 && return 0
  log "another run is setting up (lock: $RCH_LOCK); waiting for it"
  # A fresh machine's set-up takes about 6 minutes; far longer means a stuck holder.
  flock -w 1800 9 || die "the lock $RCH_LOCK was not freed in 30 minutes; it is held by:$(lock_holders)"
}

# The processes that have the lock open, for the message when it is not freed.
lock_holders() {
  local fd
  for fd in /proc/[0-9]*/fd/*; do
    [ "$(readlink "$fd" 2>/dev/null)" = "$RCH_LOCK" ] || continue
    fd=${fd#/proc/}
    printf ' %s (%s)' "${fd%%/*}" "$(tr '\0' ' ' <"/proc/${fd%%/*}/cmdline" 2>/dev/null)"
  done
}

need_root() { [ "$(id -u)" -eq 0 ] || die "$1 needs root: run the set-up as root, sudo $RCH_SELF"; }
RCH_SELF=${RCH_SELF:-$0}

# Installs Debian packages, saying which and why; stops with the command to run
# by hand where this cannot be done here (no apt, or not root).
apt_install() {
  local why=$1; shift
  command -v apt-get >/dev/null 2>&1 \
    || die "$why needs $*, and there is no apt-get here (not Debian or Ubuntu): install them by hand (Docker Engine: https://docs.docker.com/engine/install/), then run this again"
  [ "$(id -u)" -eq 0 ] || die "$why needs $* from apt, which takes root: run the set-up as root, sudo $RCH_SELF"
  if [ ! -f "$RCH_STATE_DIR/.apt-updated" ] || [ -n "$(find "$RCH_STATE_DIR/.apt-updated" -mmin +60)" ]; then
    quietly "apt-get update" apt-get update
    mkdir -p "$RCH_STATE_DIR" && touch "$RCH_STATE_DIR/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive quietly "installing $* ($why)" \
    apt-get install -y --no-install-recommends "$@"
}

# Runs a command with its output kept in a file: prints what it does, a line
# every 10 seconds while it runs (long steps never look hung), how long it
# took, and the end of its output if it fails.
quietly() {
  local what=$1; shift
  local out start=$SECONDS pid status=0 ticks=0
  out=$(mktemp)
  log "$what"
  "$@" >"$out" 2>&1 &
  pid=$!
  # Interrupted, the set-up stops the step too and keeps no file behind.
  # shellcheck disable=SC2064 # the step's pid and file, fixed now
  trap "kill $pid 2>/dev/null; rm -f '$out'; exit 130" INT
  # shellcheck disable=SC2064
  trap "kill $pid 2>/dev/null; rm -f '$out'; exit 143" TERM
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    ticks=$((ticks + 1))
    if [ $((ticks % 10)) -eq 0 ] && kill -0 "$pid" 2>/dev/null; then
      log "    ... $what: $((SECONDS - start))s"
    fi
  done
  wait "$pid" || status=$?
  trap - INT TERM
  if [ "$status" -ne 0 ]; then
    tail -n 30 "$out" >&2
    rm -f "$out"
    die "$what failed (exit status $status); its last lines are above"
  fi
  rm -f "$out"
  log "    done in $((SECONDS - start))s: $what"
}

# Sets DOCKER_CLI to the docker client that can run BuildKit builds here, and
# DOCKER_BUILDER to how. A client older than 23.0 runs the legacy builder
# unless DOCKER_BUILDKIT=1 (exported here), buildx plugin or not; from 23.0
# on, `docker build` is buildx, so a client without it is skipped.
# DOCKER=/path/to/docker overrides the choice.
quiet_client() { env -u DOCKER_HOST -u DOCKER_CONTEXT timeout 20 "$@"; }
pick_docker() {
  local candidates=() c version
  if [ -n "${DOCKER:-}" ]; then candidates=("$DOCKER"); else candidates=(docker /usr/bin/docker); fi
  for c in "${candidates[@]}"; do
    command -v "$c" >/dev/null 2>&1 || continue
    export DOCKER_CLI DOCKER_BUILDER
    DOCKER_CLI=$(command -v "$c")
    # What the client is does not depend on the engine, and 20.10's asks the
    # engine it names, which may hang, or a context, which may not resolve.
    version=$(quiet_client "$c" --version | sed -n 's/^Docker version \([0-9]*\).*/\1/p')
    if [ -n "$version" ] && [ "$version" -lt 23 ]; then
      export DOCKER_BUILDKIT=1
      DOCKER_BUILDER="DOCKER_BUILDKIT=1"; return 0
    fi
    if quiet_client "$c" buildx version >/dev/null 2>&1; then
      DOCKER_BUILDER=buildx; return 0
    fi
  done
  return 1
}

# True when Docker Hub answers at all (any HTTP status); false when no registry
# can be reached from here. Bounded so that a black-holed network cannot hang us.
docker_hub_reachable() {
  curl -s -o /dev/null -m 8 https://registry-1.docker.io/v2/
}

# The mode for base images: `pull` (a registry is reachable) or `offline`
# (serve stand-ins from a loopback registry). RCH_BASE_IMAGES forces one.
base_images_mode() {
  case "${RCH_BASE_IMAGES:-auto}" in
    pull|offline) printf '%s\n' "$RCH_BASE_IMAGES" ;;
    auto) if docker_hub_reachable; then echo pull; else echo offline; fi ;;
    *) die "RCH_BASE_IMAGES must be auto, pull or offline, not '${RCH_BASE_IMAGES}'" ;;
  esac
}
