#!/usr/bin/env bash
# Makes every base image that a Dockerfile under dockerfiles/ names available
# to the engine, by name and unchanged, so the Dockerfiles stay as people copy
# them. One idempotent entry point for the tests, the main job and CI.
#
#   pull mode:    a registry is reachable; pull what is missing.
#   offline mode: no registry is reachable; build local stand-ins, push them to
#                 a registry on loopback (the engine's registry mirror, set up
#                 by setup-engine.sh), so `FROM debian:trixie-slim` resolves
#                 per --platform exactly as on a connected machine.
# RCH_BASE_IMAGES=auto|pull|offline forces a mode (default: auto).
# `base-images.sh --list` only prints the base images the Dockerfiles name;
# `--check` says of each whether it is ready, and exits 1 if any is not.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

debian_mirror=${RCH_DEBIAN_MIRROR:-http://deb.debian.org}

# The base images, read from the Dockerfiles: every `FROM image` that is not an
# earlier stage's name, nor scratch, with the defaults of the ARGs declared
# before the first FROM (RUST_VERSION, CHEF_VERSION) put in.
base_images() {
  awk '
    FNR == 1 { delete stage; delete arg; seen_from = 0 }
    toupper($1) == "ARG" && !seen_from {
      for (j = 2; j <= NF; j++) if (split($j, kv, "=") == 2) { gsub(/"/, "", kv[2]); arg[kv[1]] = kv[2] }
    }
    toupper($1) == "FROM" {
      seen_from = 1
      i = 2; while ($i ~ /^--/) i++
      image = $i
      for (name in arg) { gsub("\\$\\{" name "\\}", arg[name], image); gsub("\\$" name, arg[name], image) }
      if (!(image in stage) && image != "scratch") print image
      if (toupper($(i + 1)) == "AS") stage[$(i + 2)] = 1
    }' "$root"/dockerfiles/Dockerfile.* | sort -u
}

case "${1:-}" in
  --list) base_images; exit 0 ;;
  --check) ;;
  "") hold_setup_lock ;;
  *) die "usage: $0 [--list|--check]" ;;
esac

mode=$(base_images_mode)
# Pull mode without a registry can only fail: say so before anything else.
if [ "$mode" = pull ] && ! docker_hub_reachable; then
  die "cannot reach Docker Hub (registry-1.docker.io) to pull base images.
Without a registry, use offline mode: RCH_BASE_IMAGES=offline scripts/setup-engine.sh && RCH_BASE_IMAGES=offline $0"
fi
pick_docker || die "no docker client can run BuildKit builds; run scripts/setup-engine.sh first"
docker=$DOCKER_CLI
timeout 10 "$docker" info >/dev/null 2>&1 || die "the Docker daemon does not answer; run scripts/setup-engine.sh first"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# --- pull mode --------------------------------------------------------------

pull_all() {
  local image
  for image in $(base_images); do
    if "$docker" image inspect "$image" >/dev/null 2>&1; then
      log "$image: present"
    else
      log "$image: pulling"
      "$docker" pull -q "$image" >/dev/null
    fi
  done
}

# --- offline mode: the loopback registry --------------------------------------

# True when something accepts TCP connections at host:port.
port_taken() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

start_mirror() {
  curl -fs -o /dev/null -m 3 "http://$RCH_MIRROR_ADDR/v2/" && return 0
  port_taken "$RCH_MIRROR_ADDR" && die "$RCH_MIRROR_ADDR is taken by a program that is not a Docker registry, so the offline mirror cannot listen there.
Stop that program, or give the mirror another address once, e.g. RCH_MIRROR_ADDR=127.0.0.1:5001 cargo xtask demo
(it is remembered in $RCH_STATE_DIR/mirror-addr, and the engine the set-up started is restarted to use it)."
  command -v docker-registry >/dev/null 2>&1 || apt_install "the offline mirror" docker-registry
  local dir=$RCH_STATE_DIR/registry
  mkdir -p "$dir/data"
  cat >"$dir/config.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: $RCH_MIRROR_ADDR
YML
  log "starting the offline Docker Hub mirror on $RCH_MIRROR_ADDR (data: $dir/data)"
  start_detached "$dir/registry.log" docker-registry serve "$dir/config.yml"
  local pid=$!
  for _ in $(seq 1 30); do
    kill -0 "$pid" 2>/dev/null || break
    if curl -fs -o /dev/null -m 3 "http://$RCH_MIRROR_ADDR/v2/"; then
      echo "$RCH_MIRROR_ADDR" >"$RCH_STATE_DIR/mirror-addr"
      return 0
    fi
    sleep 1
  done
  tail -n 20 "$dir/registry.log" >&2
  die "the registry did not come up on $RCH_MIRROR_ADDR"
}

# Docker Hub's naming: an image without a slash lives under library/.
mirror_ref() {
  local name=${1%%:*} tag=${1#*:}
  case "$name" in */*) ;; *) name=library/$name ;; esac
  printf '%s/%s:%s\n' "$RCH_MIRROR_ADDR" "$name" "$tag"
}

# True when the mirror serves the image for every platform asked for.
in_mirror() {
  local ref=$1; shift
  local repo=${ref#*/} manifest p
  manifest=$(curl -fs -m 10 \
    -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
    -H 'Accept: application/vnd.oci.image.index.v1+json' \
    "http://$RCH_MIRROR_ADDR/v2/${repo%:*}/manifests/${repo##*:}") || return 1
  for p in "$@"; do
    grep -q "\"architecture\":\"${p#linux/}\"" <<<"${manifest//[[:space:]]/}" || return 1
  done
}

# Pushes one image per platform, then a manifest list that names them all
# under the image's own tag: what a multi-arch image on Docker Hub is.
push_manifest_list() {
  push_parts "$@"
  publish_list "$@"
}

# Pushes REF-<arch> for each PLATFORM: the images the list will name.
push_parts() {
  local ref=$1 p; shift
  for p in "$@"; do
    quietly "pushing ${ref#*/} for $p to the mirror" "$docker" push "$ref-${p#linux/}"
  done
}

# Pushes the list that makes REF ready (see is_ready), then drops the
# per-platform tags, which the mirror now serves.
publish_list() {
  local ref=$1 p parts=(); shift
  for p in "$@"; do parts+=("$ref-${p#linux/}"); done
  "$docker" manifest rm "$ref" >/dev/null 2>&1 || true
  "$docker" manifest create --insecure "$ref" "${parts[@]}" >/dev/null
  for p in "$@"; do
    "$docker" manifest annotate --os linux --arch "${p#linux/}" "$ref" "$ref-${p#linux/}"
  done
  "$docker" manifest push --purge --insecure "$ref" >/dev/null
  for p in "${parts[@]}"; do "$docker" image rm "$p" >/dev/null; done
}

# --- offline mode: the stand-ins ------------------------------------------------

host_platform() { echo "linux/$(dpkg --print-architecture 2>/dev/null || uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')"; }

# debian:<suite>-slim: a minbase root filesystem, trimmed as the official slim
# image is (no docs, man pages or locales; apt lists removed), with the apt
# settings the official images carry, for each platform.
standin_debian() {
  local image=$1 suite
  suite=${image#debian:}; suite=${suite%-slim}
  [ "$image" = "debian:$suite-slim" ] || die "no stand-in recipe for $image (only debian:<suite>-slim)"
  command -v mmdebstrap >/dev/null 2>&1 || apt_install "Debian stand-ins" mmdebstrap
  local ref p arch mode work=$scratch/debian
  ref=$(mirror_ref "$image")
  mkdir -p "$work"
  # As in the official images: apt deletes the packages it downloaded once
  # they are installed, and keeps no binary caches, so that an `apt-get
  # install` in a Dockerfile leaves only what it installed in the layer.
  cat >"$work/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  printf 'Acquire::Languages "none";\n' >"$work/docker-no-languages"
  # The dpkg excludes below, applied to the files on disk: in chrootless mode
  # dpkg runs from this machine and reads its settings, not the image's.
  cat >"$work/trim-like-slim" <<'SH'
set -e
cd "$1/usr/share"
rm -rf man/* info/* groff/* lintian/*
find locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
find doc -mindepth 1 ! -type d ! -name copyright -delete
SH
  for p in linux/amd64 linux/arm64; do
    arch=${p#linux/}
    # Another architecture's maintainer scripts would run under qemu, slowly;
    # chrootless runs them with this machine's tools, which Debian's essential
    # packages support (DPKG_ROOT): the same packages in a fifth of the time.
    mode=auto
    [ "$p" = "$(host_platform)" ] || mode=chrootless
    mkdir -p "$work/$arch"
    # shellcheck disable=SC2016 # "$1" is the new root, for the hook's own shell
    quietly "$image ($p): mmdebstrap minbase $suite, mode $mode" \
    mmdebstrap --quiet --mode="$mode" --variant=minbase --architectures="$arch" \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/groff/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
      --aptopt='APT::Install-Recommends "false"' \
      --customize-hook="upload $work/docker-clean /etc/apt/apt.conf.d/docker-clean" \
      --customize-hook="upload $work/docker-no-languages /etc/apt/apt.conf.d/docker-no-languages" \
      --customize-hook='rm -f "$1"/var/cache/apt/*.bin' \
      --customize-hook="sh $work/trim-like-slim \"\$1\"" \
      "$suite" "$work/$arch/rootfs.tar" \
      "deb $debian_mirror/debian $suite main" \
      "deb $debian_mirror/debian $suite-updates main" \
      "deb $debian_mirror/debian-security $suite-security main"
    cat >"$work/$arch/Dockerfile" <<DOCKERFILE
FROM scratch
ADD rootfs.tar /
LABEL io.github.rust-container-howto.stand-in="$image: Debian $suite minbase by mmdebstrap, trimmed like the official slim image"
CMD ["bash"]
DOCKERFILE
    quietly "$image ($p): importing the root filesystem" "$docker" build --platform "$p" -t "$ref-$arch" "$work/$arch"
  done
  push_manifest_list "$ref" linux/amd64 linux/arm64
}

# Builds a stand-in from scripts/stand-ins/NAME.Dockerfile for the host platform.
build_standin() {
  local name=$1 ref=$2; shift 2
  local work=$scratch/$name arch
  arch=$(host_platform); arch=${arch#linux/}
  mkdir -p "$work"
  cp /etc/ssl/certs/ca-certificates.crt "$work/host-ca-bundle.crt"
  quietly "${ref#*/}: docker build -f scripts/stand-ins/$name.Dockerfile" \
    "$docker" build -f "$here/stand-ins/$name.Dockerfile" "$@" \
    --label "io.github.rust-container-howto.stand-in=${ref#*/} from scripts/stand-ins/$name.Dockerfile" \
    -t "$ref-$arch" "$work"
}

# rust:<version>-slim-<suite>: Debian's rustc-web, when its version is <version>.
standin_rust() {
  build_rust "$1"
  push_manifest_list "$(mirror_ref "$1")" "$(host_platform)"
}

# Builds the rust stand-in as $(mirror_ref IMAGE)-<arch>, not yet pushed.
build_rust() {
  local image=$1 ref version suite have
  [[ $image =~ ^rust:([0-9.]+)-slim-([a-z]+)$ ]] || die "no stand-in recipe for $image (only rust:<version>-slim-<suite>)"
  version=${BASH_REMATCH[1]}; suite=${BASH_REMATCH[2]}
  ensure_image "debian:$suite-slim"
  ref=$(mirror_ref "$image")
  log "$image: Debian's rustc-web on debian:$suite-slim"
  build_standin rust "$ref" --build-arg "SUITE=$suite"
  have=$("$docker" run --rm "$ref-$(host_platform | cut -d/ -f2)" rustc --version | cut -d' ' -f2)
  case "$have." in
    "$version".*) ;;
    *) "$docker" image rm "$ref-$(host_platform | cut -d/ -f2)" >/dev/null
       die "Debian's rustc-web for $suite is $have: it cannot stand in for $image. Name rust:${have%.*}-slim-$suite in the Dockerfiles, or use pull mode." ;;
  esac
}

# lukemathwalker/cargo-chef:<cargo-chef version>-rust-<version>-slim-<suite>:
# the rust stand-in plus that version of cargo-chef from crates.io.
standin_cargo_chef() {
  local image=$1 rust ref chef
  [[ $image =~ ^lukemathwalker/cargo-chef:([0-9]+\.[0-9]+\.[0-9]+)-rust-([0-9.]+-slim-[a-z]+)$ ]] \
    || die "no stand-in recipe for $image (only lukemathwalker/cargo-chef:<cargo-chef version>-rust-<version>-slim-<suite>)"
  chef=${BASH_REMATCH[1]}
  rust=rust:${BASH_REMATCH[2]}
  ref=$(mirror_ref "$image")
  local base=$rust rust_ref pushing=""
  rust_ref=$(mirror_ref "$rust")
  if ! is_ready "$rust"; then
    # The rust stand-in is pushed (1.2 GB) while cargo-chef compiles on its
    # local copy: the two overlap instead of adding up. Its list is
    # published only after the push succeeded, so it is not ready before.
    build_rust "$rust"
    base=$rust_ref-$(host_platform | cut -d/ -f2)
    push_parts "$rust_ref" "$(host_platform)" &
    pushing=$!
  fi
  log "$image: cargo install cargo-chef $chef on $rust (about 2 minutes on 2 cores)"
  build_standin cargo-chef "$ref" --build-arg "RUST_IMAGE=$base" --build-arg "CHEF_VERSION=$chef"
  if [ -n "$pushing" ]; then
    wait "$pushing" || die "pushing $rust to the mirror failed; its output is above"
    publish_list "$rust_ref" "$(host_platform)"
  fi
  push_manifest_list "$ref" "$(host_platform)"
}

# Makes the mirror serve IMAGE, building its stand-in (and theirs) if needed.
ensure_image() {
  local image=$1 start=$SECONDS
  if is_ready "$image"; then
    log "$image: served by the offline mirror ($(mirror_platforms "$image"))"
    return 0
  fi
  case "$image" in
    debian:*) standin_debian "$image" ;;
    rust:*) standin_rust "$image" ;;
    lukemathwalker/cargo-chef:*) standin_cargo_chef "$image" ;;
    *) die "no stand-in recipe for $image: add one to $0, or use pull mode" ;;
  esac
  log "$image: stand-in ready in $((SECONDS - start))s"
}

# The platforms the mirror must serve an image for.
mirror_platforms() {
  case "$1" in
    debian:*) echo linux/amd64 linux/arm64 ;;
    *) host_platform ;;
  esac
}

# Ready: pulled (pull mode), or served by the mirror under a manifest list
# that names every platform (offline mode). The list is pushed last, so a run
# killed half-way leaves an image that is not ready, and the next run redoes it.
is_ready() {
  if [ "$mode" = pull ]; then
    "$docker" image inspect "$1" >/dev/null 2>&1
  else
    # shellcheck disable=SC2046 # one word per platform
    in_mirror "$(mirror_ref "$1")" $(mirror_platforms "$1")
  fi
}

check_all() {
  local image missing=0
  for image in $(base_images); do
    if is_ready "$image"; then
      printf '%s: ready\n' "$image"
    else
      printf '%s: not ready\n' "$image"
      missing=1
    fi
  done
  return "$missing"
}

provision_offline() {
  start_mirror
  local image
  for image in $(base_images); do ensure_image "$image"; done
}

if [ "${1:-}" = --check ]; then check_all; exit; fi
case "$mode" in
  pull) pull_all ;;
  offline) provision_offline ;;
esac
log "base images ready: $(base_images | tr '\n' ' ')"
