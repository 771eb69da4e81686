#!/bin/sh
# Runs inside the new root filesystem (chroot), once, after debootstrap and
# after files/ was copied in. Everything the recipe does that is not a plain
# file lives here.
set -eu

# The course's user: uid 1000, a home from /etc/skel, passwordless sudo
# (files/etc/sudoers.d/student).
useradd --create-home --uid 1000 --shell /bin/bash --comment "Course student" student
chmod 0440 /etc/sudoers.d/student
# The course's post-install step: the student talks to dockerd without sudo.
usermod --append --groups docker student
visudo --check --quiet

# Every interactive bash reads /etc/bash.bashrc: hook the OSC 133 marks there.
cat >> /etc/bash.bashrc <<'MARKS'

# Shell integration marks for the course's terminal.
[ -r /etc/cours-linux/shell-integration.bash ] && . /etc/cours-linux/shell-integration.bash
MARKS

# Where the sandbox driver mounts the agent, node and the socket to the host.
mkdir -p /.sandbox

# Nothing of the build host may leak in; these are written per sandbox at start.
rm -f /etc/hostname /etc/resolv.conf /etc/machine-id /var/lib/dbus/machine-id
printf '127.0.0.1\tlocalhost\n' > /etc/hosts

# Package caches and logs only cost space.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log /var/log/apt/* /tmp/* /var/tmp/*
