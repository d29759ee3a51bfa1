#!/usr/bin/env bash
# A current Docker beside the host's 20.10: Debian trixie's Engine 26 with the
# containerd image store, in a container of the host's engine, its socket at
# $RCH_STATE_DIR/current/run/docker.sock; and its client (26, with buildx 0.13)
# under $RCH_STATE_DIR/current/, so the host's own client stays as it is.
# RCH_ENGINE=current points the harness at it. Idempotent; run by
# provision.sh when RCH_ENGINE=current, after the host engine and the base
# images are ready.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
hold_setup_lock

pick_docker || die "no docker client can run BuildKit builds; run scripts/provision.sh first"
docker=$DOCKER_CLI
dir=$RCH_STATE_DIR/current
# The tag names the engine's files (Dockerfile, daemon.json, start.sh), so an
# edit to them builds a new image and replaces the container.
image=rust-container-howto/engine:26-$(cat "$here"/engines/current/* | sha256sum | cut -c1-12)
container=rust-container-howto-engine-26
current=(env DOCKER_HOST="unix://$dir/run/docker.sock" DOCKER_CONFIG="$dir/client" "$dir/bin/docker")

answers() { [ -x "$dir/bin/docker" ] && timeout 10 "${current[@]}" info >/dev/null 2>&1; }

# The capabilities an engine needs inside a container where --privileged is
# refused; its storage on host directories, since overlayfs does not stack;
# the host's network (see engines/current/start.sh); and the host's temporary
# directory at the same path, since `docker run -v` names host paths and the
# tests and benchmarks mount files from there.
tmp=${TMPDIR:-/tmp}
run_args=(--network host
  --cap-add ALL --cap-drop SYS_RESOURCE
  --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined
  -v /sys/fs/cgroup:/sys/fs/cgroup
  -v "$dir/lib-docker:/var/lib/docker" -v "$dir/lib-containerd:/var/lib/containerd"
  -v "$dir/run:/run/rch" -v "$tmp:$tmp")
# A container started with other settings (an older version of this script)
# is replaced.
config=$(printf '%s\n' "$image" "${run_args[@]}" | sha256sum | cut -c1-16)
started_with() { "$docker" inspect -f '{{index .Config.Labels "io.github.rust-container-howto.config"}}' "$container" 2>/dev/null; }

if [ "$(started_with)" = "$config" ]; then
  # Ours and as configured: used as it is. Running but not answering, it may
  # be starting or busy with another run's builds: wait, and never replace
  # an engine that a run may be using.
  for i in $(seq 1 60); do
    if answers; then
      log "current engine: $("${current[@]}" version --format 'engine {{.Server.Version}}, client {{.Client.Version}}') answers"
      exit 0
    fi
    [ "$("$docker" inspect -f '{{.State.Running}}' "$container" 2>/dev/null)" = true ] || break
    [ "$i" -lt 60 ] || die "the current engine in $container runs but has not answered at $dir/run/docker.sock for a minute.
Its log: $docker logs --tail 50 $container. To have the set-up start it again: $docker rm -f $container"
    sleep 1
  done
fi
# A container of that name that the set-up did not start is not its to replace.
if "$docker" inspect "$container" >/dev/null 2>&1 && [ -z "$(started_with)" ]; then
  die "a container named $container exists that the set-up did not start (it has no io.github.rust-container-howto.config label); rename or remove it"
fi
need_root "starting the current engine"
mkdir -p "$dir/bin" "$dir/client/cli-plugins" "$dir/run" "$dir/lib-docker" "$dir/lib-containerd"

if ! "$docker" image inspect "$image" >/dev/null 2>&1; then
  context=$(mktemp -d)
  trap 'rm -rf "$context"' EXIT
  cp "$here"/engines/current/* "$context/"
  cp /etc/ssl/certs/ca-certificates.crt "$context/host-ca-bundle.crt"
  quietly "$image: Debian trixie's docker.io, docker-cli and docker-buildx" "$docker" build -t "$image" "$context"
fi
# The client and its buildx plugin, from the same packages as the engine.
# Each is written beside its place and then moved there, so that an
# interrupted copy never leaves a truncated client for the next run to use.
copy_out() { # PATH_IN_IMAGE DESTINATION
  "$docker" run --rm --entrypoint cat "$image" "$1" >"$2.new"
  chmod +x "$2.new"
  mv -f "$2.new" "$2"
}
copy_out /usr/bin/docker "$dir/bin/docker"
copy_out /usr/libexec/docker/cli-plugins/docker-buildx "$dir/client/cli-plugins/docker-buildx"

# Images of earlier versions of the engine's files (on a new machine, none:
# grep then finds nothing, which is no failure).
"$docker" images rust-container-howto/engine --format '{{.Repository}}:{{.Tag}}' \
  | { grep -vxF "$image" || true; } | xargs -r "$docker" rmi >/dev/null

# Engine 26 gives BuildKit 10 s to start and exits when it takes longer
# (moby/moby#48569; Engine 27 dropped the limit). That start grows with the
# build cache, about 8 ms a record, and slows on a busy machine; a cache of
# 2,000 records, which a few runs of the tests leave, takes 17 s. Such an
# exit is tried again, first as it is, then with an empty store: it holds
# only build cache and base images, which come back from the offline mirror.
attempts=5
for attempt in $(seq 1 "$attempts"); do
  "$docker" rm -f "$container" >/dev/null 2>&1 || true
  if [ "$attempt" -eq 3 ]; then
    log "emptying the current engine's store ($(du -sh "$dir/lib-docker" | cut -f1)) so that BuildKit starts in time"
    rm -rf "$dir/lib-docker" "$dir/lib-containerd"
    mkdir -p "$dir/lib-docker" "$dir/lib-containerd"
  fi
  log "starting $container (socket: $dir/run/docker.sock)"
  "$docker" run -d --name "$container" --label "io.github.rust-container-howto.config=$config" "${run_args[@]}" \
    "$image" >/dev/null
  for i in $(seq 1 60); do
    if answers; then
      log "current engine answers after ${i}s: $("${current[@]}" version --format 'engine {{.Server.Version}}, client {{.Client.Version}}')"
      exit 0
    fi
    [ "$("$docker" inspect -f '{{.State.Running}}' "$container" 2>/dev/null)" = true ] || break
    sleep 1
  done
  tail=$("$docker" logs --tail 20 "$container" 2>&1 || true)
  if [ "$attempt" -lt "$attempts" ] && [ "$(printf '%s\n' "$tail" | tail -n 1)" = "context deadline exceeded" ]; then
    log "the engine exited: BuildKit took longer than the 10 s Engine 26 allows it to start (attempt $attempt of $attempts)"
    continue
  fi
  printf '%s\n' "$tail" >&2
  die "the current engine did not come up in $container"
done
