# shellcheck shell=bash
# Helpers shared by the scripts in this folder. Source it; do not run it.

# Where the offline Docker Hub mirror (a registry on loopback) keeps its state.
RCH_STATE_DIR=${RCH_STATE_DIR:-/var/lib/rust-container-howto}
RCH_MIRROR_ADDR=${RCH_MIRROR_ADDR:-127.0.0.1:5000}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Sets DOCKER_CLI to the docker client that can run BuildKit builds here, and
# DOCKER_BUILDER to how: a client with buildx builds with BuildKit by default;
# a client older than 23.0 needs DOCKER_BUILDKIT=1 (exported here); a newer
# client without buildx refuses BuildKit, so it is skipped.
# DOCKER=/path/to/docker overrides the choice.
pick_docker() {
  local candidates=() c version
  if [ -n "${DOCKER:-}" ]; then candidates=("$DOCKER"); else candidates=(docker /usr/bin/docker); fi
  for c in "${candidates[@]}"; do
    command -v "$c" >/dev/null 2>&1 || continue
    export DOCKER_CLI DOCKER_BUILDER
    DOCKER_CLI=$(command -v "$c")
    if "$c" buildx version >/dev/null 2>&1; then
      DOCKER_BUILDER=buildx; return 0
    fi
    version=$("$c" --version | sed -n 's/^Docker version \([0-9]*\).*/\1/p')
    if [ -n "$version" ] && [ "$version" -lt 23 ]; then
      export DOCKER_BUILDKIT=1
      DOCKER_BUILDER="DOCKER_BUILDKIT=1"; return 0
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
