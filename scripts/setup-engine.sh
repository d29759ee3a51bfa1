#!/usr/bin/env bash
# Leaves a working Docker Engine with BuildKit, and qemu-user-static registered
# with binfmt_misc so that arm64 images run on an amd64 host.
#
# A daemon that already answers is left alone, unless base images must come
# from the offline mirror and the daemon does not use it yet: then this script
# restarts the daemon it started itself, or tells you what to add.
# Debian/Ubuntu hosts, as root. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

log_file=$RCH_STATE_DIR/dockerd.log
pid_file=$RCH_STATE_DIR/dockerd.pid
mode=$(base_images_mode)
mirror=""
[ "$mode" = offline ] && mirror="http://$RCH_MIRROR_ADDR"

daemon_answers() { timeout 10 "$docker" info >/dev/null 2>&1; }

daemon_uses_mirror() {
  [ -z "$mirror" ] || timeout 10 "$docker" info --format '{{json .RegistryConfig.Mirrors}}' 2>/dev/null | grep -q "$mirror"
}

start_daemon() {
  need_root "starting dockerd"
  mkdir -p "$RCH_STATE_DIR"
  local args=(--host unix:///var/run/docker.sock)
  [ -n "$mirror" ] && args+=(--registry-mirror "$mirror")
  log "starting dockerd ${args[*]} (log: $log_file)"
  rm -f /var/run/docker.pid
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

stop_our_daemon() {
  local pid
  pid=$(cat "$pid_file" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null || return 1
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
log "docker client: $docker (BuildKit with $DOCKER_BUILDER)"
log "base images: $mode mode${mirror:+ (registry mirror $mirror)}"

if daemon_answers; then
  if ! daemon_uses_mirror; then
    stop_our_daemon || die "the running Docker daemon does not use the offline mirror $mirror.
Add it and restart the daemon, e.g. in /etc/docker/daemon.json: {\"registry-mirrors\": [\"$mirror\"]}"
    start_daemon
  fi
else
  command -v dockerd >/dev/null 2>&1 || apt_install "a Docker Engine" docker.io
  start_daemon
fi
register_qemu
"$docker" version --format 'engine {{.Server.Version}}, client {{.Client.Version}}' >&2
