#!/bin/sh
# The container's command. It shares the host's network, so the engine
# reaches the offline mirror and the tests' servers on 127.0.0.1 as the
# host's engine does; it makes no bridge and no iptables rules of its own,
# which would clash with the host engine's. dockerd starts its own
# containerd; its socket is in /run/rch, a directory shared with the host.
exec dockerd --host unix:///run/rch/docker.sock
