#!/bin/sh
# The guest's boot, run by the sandbox's init (PID 1) once the disk is the
# root: what systemd would do on a real machine, cut down to what the lesson
# needs, then the agent that serves the host's terminals. When the agent ends
# (the host went away), the VM powers off.
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

# udev would make /dev/virtio-ports/<name>; there is no udev here.
mkdir -p /dev/virtio-ports
for port in /sys/class/virtio-ports/*; do
  [ -r "$port/name" ] && ln -sf "../${port##*/}" "/dev/virtio-ports/$(cat "$port/name")"
done
channel=/dev/virtio-ports/cours-linux.agent
[ -e "$channel" ] || { say "FATAL: no virtio-serial port named cours-linux.agent"; halt_now; }

# Where the disk's builder put Node and the agent (src/drivers/vm/disk-image.ts).
. /.sandbox/vm/agent.env

config=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^cours_linux\.agent=//p' | base64 -d) \
  || { say "FATAL: no valid cours_linux.agent= on the kernel command line"; halt_now; }

# A virtio port may be opened once: one read-write descriptor serves both
# directions. Two cats turn it into pipes for the agent: Node would treat the
# character device as a file (blocking reads in its thread pool, and writes
# the port driver cuts at 32 KiB that Node would not finish); cat copies
# every byte, promptly, both ways. Only the agent is waited for: once the
# host is gone, a write to the port blocks forever.
exec 3<>"$channel"
mkfifo -m 600 /run/agent.in /run/agent.out
cat <&3 > /run/agent.in &
reader=$!
cat < /run/agent.out >&3 &
writer=$!
exec 3<&-
SANDBOX_AGENT_CONFIG="$config" "$AGENT_NODE" "$AGENT_MAIN" < /run/agent.in > /run/agent.out
kill -9 "$reader" "$writer" 2>/dev/null
say "agent exited; powering off"
halt_now
