#!/bin/busybox sh
# PID 1 of the VM's initramfs. Debian's kernel keeps the virtio and ext4
# drivers as modules, so this small busybox stage loads them (list and order
# computed at build time, see src/drivers/vm/initramfs.ts), mounts the disk
# and hands over to the sandbox's init on it.
#
# Kernel command line (set by the driver):
#   cours_linux.probe   only prove that the guest runs (accelerator probe), then power off
#   root=/dev/vda       the disk, always virtio
/bin/busybox --install -s /bin
export PATH=/bin

say() { echo "cours-linux initramfs: $*" > /dev/console; }
# A guest that cannot boot must stop the VM, not sit at a prompt: the host
# then reports the console's last lines.
fail() { say "FATAL: $*"; poweroff -f; sleep 5; exit 1; }

mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev

if grep -qw cours_linux.probe /proc/cmdline; then
  say "probe ok"
  poweroff -f
  exit 0
fi

while read -r module; do
  insmod "/modules/$module" || fail "cannot load kernel module $module"
done < /modules/order

# virtio_blk creates its device asynchronously.
tries=0
until [ -b /dev/vda ]; do
  tries=$((tries + 1))
  [ $tries -gt 200 ] && fail "no disk at /dev/vda after 10 s (is the drive attached with if=virtio?)"
  sleep 0.05
done

mkdir -p /newroot
mount -t ext4 -o rw,noatime /dev/vda /newroot || fail "cannot mount /dev/vda as ext4"
[ -x /newroot/.sandbox/bin/sandbox-init ] || fail "the disk has no /.sandbox/bin/sandbox-init: not a course disk image"

umount /proc
mount --move /dev /newroot/dev || fail "cannot move /dev into the new root"
# No low pids to hold in a VM: kernel threads already occupy them (see native/sandbox-init.c).
exec switch_root /newroot /.sandbox/bin/sandbox-init --hold-pids 0 -- /bin/sh /.sandbox/vm/boot.sh
