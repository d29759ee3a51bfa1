#!/bin/sh
# The container's command: the mirror (when the host has one), then the
# engine, its socket in /run/rch, a directory shared with the host. dockerd
# starts its own containerd.
set -e
if [ -d /mirror/docker ]; then
  docker-registry serve /etc/docker/registry/mirror.yml >/var/log/mirror.log 2>&1 &
fi
exec dockerd --host unix:///run/rch/docker.sock
