#!/usr/bin/env bash
# Leaves a working Docker Engine with BuildKit, and qemu-user-static registered
# with binfmt_misc so that arm64 images run on an amd64 host.
#
# It never harms an engine it did not start:
# - when DOCKER_HOST or the docker context names an engine, it uses that one
#   or stops, and starts no daemon;
# - it starts dockerd only when no dockerd runs at all, whoever started it;
# - it stops a daemon (to add the offline mirror) only if it started it, and
#   only after checking that the pid is still that dockerd.
# Debian/Ubuntu hosts, as root. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
hold_setup_lock

log_file=$RCH_STATE_DIR/dockerd.log
# The pid of the dockerd this script started, and the default socket and pid
# file that daemon uses.
pid_file=$RCH_STATE_DIR/dockerd.pid
default_host=unix:///var/run/docker.sock
dockerd_pid_file=/var/run/docker.pid
mode=$(base_images_mode)
mirror=""
[ "$mode" = offline ] && mirror="http://$RCH_MIRROR_ADDR"

daemon_answers() { timeout 10 "$docker" info >/dev/null 2>&1; }

daemon_uses_mirror() {
  [ -z "$mirror" ] || timeout 10 "$docker" info --format '{{json .RegistryConfig.Mirrors}}' 2>/dev/null | grep -q "$mirror"
}

# Who names the engine the client talks to, if anyone does ("" for the
# default socket), and its address.
engine_named_by() {
  if [ -n "${DOCKER_HOST:-}" ]; then
    named_by=DOCKER_HOST address=$DOCKER_HOST way_out="unset DOCKER_HOST"
    return
  fi
  # `docker context inspect` without a name inspects the current context
  # (DOCKER_CONTEXT, else the client configuration's); clients older than
  # 20.10 have no contexts.
  local context
  context=$(timeout 20 "$docker" context inspect --format '{{.Name}} {{.Endpoints.docker.Host}}' 2>/dev/null) || context=""
  named_by="" address=$default_host way_out=""
  if [ -n "${DOCKER_CONTEXT:-}" ]; then
    named_by="DOCKER_CONTEXT=$DOCKER_CONTEXT" way_out="unset DOCKER_CONTEXT"
  elif [ -n "$context" ] && [ "${context%% *}" != default ]; then
    named_by="the docker context '${context%% *}'" way_out="run 'docker context use default'"
  fi
  [ -z "$named_by" ] || address=${context#* }
}

# The pids of every running dockerd, whoever started it (in a container too).
running_dockerds() {
  local comm
  for comm in /proc/[0-9]*/comm; do
    [ "$(cat "$comm" 2>/dev/null)" = dockerd ] && { comm=${comm#/proc/}; echo "${comm%%/*}"; }
  done
  return 0
}

describe_process() { printf '%s (%s)' "$1" "$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | sed 's/ $//')"; }

# True when PID is the dockerd this script started: the pid it recorded, a
# live dockerd, and the one that owns the default socket's pid file.
is_our_dockerd() {
  local pid=$1
  [ -n "$pid" ] && [ "$pid" = "$(cat "$pid_file" 2>/dev/null)" ] \
    && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] \
    && [ "$pid" = "$(cat "$dockerd_pid_file" 2>/dev/null)" ]
}

# A dockerd may run without answering yet (it is starting, or busy): wait a
# little for it, then stop, naming it. Never start a second one beside it.
wait_for_running_dockerd() {
  local pids i
  for i in $(seq 1 20); do
    pids=$(running_dockerds)
    [ -n "$pids" ] || return 0
    daemon_answers && { log "dockerd answers after ${i}s"; return 1; }
    [ "$i" -eq 1 ] && log "a dockerd runs but $default_host does not answer yet; waiting up to 20s"
    sleep 1
  done
  local list="" pid
  for pid in $pids; do list+=$'\n  '$(describe_process "$pid"); done
  die "a dockerd already runs, but the engine at $default_host does not answer:$list
The set-up never starts a second dockerd beside one that runs: the two would fight over the socket and containerd, and the first would stop answering.
Check that daemon (is it stopped? its log?), restart it, or stop it (kill $(echo "$pids" | head -n 1)) so that the set-up can start one; then run this again."
}

start_daemon() {
  need_root "starting dockerd"
  mkdir -p "$RCH_STATE_DIR"
  local args=(--host "$default_host")
  [ -n "$mirror" ] && args+=(--registry-mirror "$mirror")
  log "starting dockerd ${args[*]} (log: $log_file)"
  # No dockerd runs (checked just before), so a pid file left is stale.
  rm -f "$dockerd_pid_file"
  start_detached "$log_file" dockerd "${args[@]}"
  echo $! >"$pid_file"
  local i
  for i in $(seq 1 60); do
    daemon_answers && { log "dockerd answers after ${i}s"; return 0; }
    kill -0 "$(cat "$pid_file")" 2>/dev/null || break
    sleep 1
  done
  printf 'dockerd did not come up; the end of %s:\n' "$log_file" >&2
  tail -n 20 "$log_file" >&2
  exit 1
}

# Stops the dockerd this script started, so that it can start again with the
# mirror; false (and nothing stopped) for any other daemon.
stop_our_daemon() {
  local pid
  pid=$(cat "$pid_file" 2>/dev/null) || return 1
  is_our_dockerd "$pid" || return 1
  log "restarting the dockerd this script started (pid $pid) to add the registry mirror"
  kill "$pid"
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || return 0; sleep 1; done
  die "dockerd (pid $pid) did not stop"
}

register_qemu() {
  [ -e /usr/libexec/qemu-binfmt/aarch64-binfmt-P ] || [ -e /usr/bin/qemu-aarch64-static ] || apt_install "running arm64 images" qemu-user-static
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    need_root "mounting binfmt_misc"
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    need_root "registering qemu-aarch64 with binfmt_misc"
    # Debian's entry has the F flag: the kernel opens the interpreter now, so
    # it also works inside containers, whose root has no qemu.
    cat /usr/lib/binfmt.d/qemu-aarch64.conf >/proc/sys/fs/binfmt_misc/register
    log "registered qemu-aarch64 with binfmt_misc"
  fi
}

command -v dockerd >/dev/null 2>&1 || command -v docker >/dev/null 2>&1 || apt_install "a Docker Engine" docker.io
pick_docker || { apt_install "a docker client that builds with BuildKit" docker.io; pick_docker; } || die "no docker client here can run BuildKit builds (install buildx, or Debian's docker.io)"
docker=$DOCKER_CLI
engine_named_by
log "docker client: $docker (BuildKit with $DOCKER_BUILDER)"
log "engine: ${named_by:+$named_by names }${address:-a context that is not there}"
log "base images: $mode mode${mirror:+ (registry mirror $mirror)}"

if daemon_answers; then
  if ! daemon_uses_mirror; then
    { [ -z "$named_by" ] && stop_our_daemon; } || die "the engine at $address does not use the offline mirror $mirror, and the set-up restarts only a dockerd it started itself.
Add the mirror to that engine and restart it, e.g. in its /etc/docker/daemon.json: {\"registry-mirrors\": [\"$mirror\"]}"
    wait_for_running_dockerd && start_daemon
  fi
elif [ -n "$named_by" ] && [ -z "$address" ]; then
  die "$named_by names a context that $docker cannot find; $way_out, or create that context."
elif [ -n "$named_by" ]; then
  die "$named_by names the engine at $address, and it does not answer.
The set-up starts no engine of its own while $named_by names one. Either start the engine at $address,
or $way_out to use the one at $default_host (the set-up starts it if none runs)."
else
  if wait_for_running_dockerd; then
    command -v dockerd >/dev/null 2>&1 || apt_install "a Docker Engine" docker.io
    start_daemon
  fi
fi
register_qemu
timeout 20 "$docker" version --format 'engine {{.Server.Version}}, client {{.Client.Version}}' >&2
