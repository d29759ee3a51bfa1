#!/bin/sh
# The container's command. It shares the host's network, so the engine
# reaches the offline mirror and the tests' servers on 127.0.0.1 as the
# host's engine does. It must leave the host engine's network alone: no
# iptables rules (they would clash), and a bridge of its own, rch0, since an
# engine without a bridge deletes docker0, the host engine's. Builds and
# containers that need the network use the host's (--network host).
set -e
if ! ip link show rch0 >/dev/null 2>&1; then
  ip link add rch0 type bridge
  ip addr add 10.213.0.1/24 dev rch0
  ip link set rch0 up
fi
exec dockerd --host unix:///run/rch/docker.sock
