#!/bin/sh
# The guest's boot, run by the sandbox's init (PID 1) once the disk is the
# root: what systemd would do on a real machine, cut down to what the lesson
# needs, then the agent that serves the host's terminals, one host after
# another (a restarted server connects again). When the agent ends, the VM
# powers off.
#
# The agent's configuration comes from the kernel command line
# (cours_linux.agent=<base64 JSON>, written by src/drivers/vm/qemu-args.ts).
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

say() { echo "cours-linux boot: $*" > /dev/console; }
halt_now() { sync; echo o > /proc/sysrq-trigger; sleep 5; exit 1; }

mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
# cgroup v2 only: the agent groups terminals there, dockerd runs on it.
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o nosuid,noexec,gid=5,mode=620,ptmxmode=000 devpts /dev/pts
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /dev/shm
mount -t mqueue -o nosuid,nodev,noexec mqueue /dev/mqueue
mount -t tmpfs -o nosuid,nodev,mode=755 tmpfs /run
mkdir -p /run/lock /run/user
# devtmpfs has no /dev/fd links; bash's <(…) needs them.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
ip link set lo up
# Docker routes between its bridges and the containers (dockerd would set it too, later).
echo 1 > /proc/sys/net/ipv4/ip_forward

cmdline_value() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p"; }

# The Docker disk (src/drivers/vm/vm-sandbox.ts): a second virtio disk whose
# size is the machine's quota for images, containers and volumes. `discard`
# gives freed blocks back to the host's sparse file.
if [ "$(cmdline_value cours_linux.docker_disk)" = vdb ]; then
  tries=0
  while [ ! -b /dev/vdb ] && [ $tries -lt 100 ]; do tries=$((tries + 1)); sleep 0.05; done
  mkdir -p /var/lib/docker
  mount -t ext4 -o noatime,discard /dev/vdb /var/lib/docker || say "cannot mount the Docker disk /dev/vdb: Docker uses the root disk"
fi

# A lab's machine (src/drivers/vm/vm-lab.ts): its NIC on the lab's own
# network, with the address the host chose; no route (nothing beyond the lab).
address=$(cmdline_value cours_linux.address)
if [ -n "$address" ]; then
  tries=0
  while [ ! -e /sys/class/net/eth0 ] && [ $tries -lt 200 ]; do tries=$((tries + 1)); sleep 0.05; done
  ip addr add "$address" dev eth0 && ip link set eth0 up || say "cannot set the lab address $address on eth0"
fi

# udev would make /dev/virtio-ports/<name>; there is no udev here.
mkdir -p /dev/virtio-ports
for port in /sys/class/virtio-ports/*; do
  [ -r "$port/name" ] && ln -sf "../${port##*/}" "/dev/virtio-ports/$(cat "$port/name")"
done
channel=/dev/virtio-ports/cours-linux.agent
[ -e "$channel" ] || { say "FATAL: no virtio-serial port named cours-linux.agent"; halt_now; }

# Where the disk's builder put Node and the agent (src/drivers/vm/disk-image.ts).
. /.sandbox/vm/agent.env

config=$(cmdline_value 'cours_linux\.agent' | base64 -d) \
  || { say "FATAL: no valid cours_linux.agent= on the kernel command line"; halt_now; }

# The agent listens on a socket of the guest's own, as in the namespace
# driver, and keeps its terminals while no host is connected. vport-bridge
# joins each host session on the port (QEMU's socket on the host, which one
# server after another connects to) to one connection to that socket; the
# image store's port likewise. (Node itself would treat the port's character
# device as a file: blocking reads in its thread pool, writes cut at 32 KiB.)
# Only the agent is waited for: when it ends, the machine is over.
# $AGENT_NODE_OPTIONS unquoted: Node's options, one word each.
SANDBOX_AGENT_CONFIG="$config" "$AGENT_KEEPER" "$AGENT_NODE" $AGENT_NODE_OPTIONS "$AGENT_MAIN" < /dev/null > /dev/console 2>&1 &
agent=$!
/.sandbox/vm/vport-bridge "$channel" /run/cours-linux-agent.sock > /dev/console 2>&1 &
registry=/dev/virtio-ports/cours-linux.registry
[ -e "$registry" ] && /.sandbox/vm/vport-bridge "$registry" /run/cours-linux-registry.sock > /dev/console 2>&1 &
wait "$agent"
say "agent exited; powering off"
halt_now
