// The browser machine's whole file system: Debian i386 packages unpacked
// (dpkg-deb -x, no maintainer scripts), the few files their scripts would
// have written (users, PAM, sudoers), the course's shell integration (the
// same file the server machines use), and an init script. It becomes the
// initramfs, so everything here costs guest RAM and download size: docs,
// manuals and translations are removed.
import { chmod, cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AptI386, type DebianPackage } from './apt-i386.ts';

const here = dirname(fileURLToPath(import.meta.url));
const PROJECT_ROOT = join(here, '..', '..');
export const GUEST_FILES = join(here, 'guest');
/** The server machines' recipe: the browser machine shares its shell integration and sudoers. */
export const SERVER_ROOTFS_FILES = join(PROJECT_ROOT, 'sandbox-server', 'rootfs', 'files');

/** The server machines' course files the guest copies (their hash is part of the guest's recipe, see build.ts). */
export const SHARED_SERVER_FILES = ['etc/cours-linux', 'etc/sudoers.d/student', 'etc/profile.d/cours-linux.sh'];

/** What the lesson types, and what bash, sudo and the terminal need around it. */
export const ROOT_PACKAGES = [
  'bash',
  'coreutils',
  'util-linux',
  'mount',
  'procps',
  'sudo',
  'hostname',
  'findutils',
  'grep',
  'sed',
  'libpam-modules',
  'ncurses-base',
  'base-files',
  // The init script polls the control port instead of sharing an interrupt with terminal 1 (see guest/init).
  'setserial',
];

/** Never unpacked (see AptI386.closure): packaging tools, perl, and the losing branches of alternatives. */
export const SKIPPED_PACKAGES = new Set([
  'cdebconf',
  'debconf',
  'dpkg',
  'perl',
  'perl-base',
  'perl-modules-5.36',
  'libperl5.36',
  'install-info',
  'init-system-helpers',
  'usrmerge',
  'usr-is-merged',
  'libfile-find-rule-perl',
  'libnumber-compare-perl',
  'libtext-glob-perl',
  'libdebian-installer4',
  'libnewt0.52',
  'libslang2',
  'libtextwrap1',
  'gawk',
  'original-awk',
  'mawk',
  'libsigsegv2',
  'libmpfr6',
  'libelogind0',
  'libgdbm6',
  'libgdbm-compat4',
  'libdb5.3',
  'tar',
  'libpam-runtime',
  'debianutils',
  'readline-common',
]);

const PRUNED = [
  'usr/share/doc',
  'usr/share/man',
  'usr/share/info',
  'usr/share/locale',
  'usr/share/lintian',
  'usr/share/bash-completion',
  'usr/share/zsh',
  'usr/share/common-licenses',
  'usr/lib/i386-linux-gnu/gconv',
  'etc/cron.daily',
  'etc/init.d',
  'lib/systemd',
  'usr/lib/systemd',
];

/** Files dpkg's maintainer scripts would have made, or that the course sets like the server machines. */
const SYSTEM_FILES: Record<string, string> = {
  'etc/passwd':
    'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nstudent:x:1000:1000:Course student:/home/student:/bin/bash\n',
  'etc/group': 'root:x:0:\ntty:x:5:\nsudo:x:27:\nnogroup:x:65534:\nstudent:x:1000:\n',
  'etc/shadow': 'root:*:20000:0:99999:7:::\nnobody:*:20000:0:99999:7:::\nstudent:*:20000:0:99999:7:::\n',
  'etc/gshadow': 'root:*::\ntty:*::\nsudo:*::\nnogroup:*::\nstudent:!::\n',
  'etc/nsswitch.conf': 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n',
  'etc/hosts': '127.0.0.1\tlocalhost\n127.0.1.1\ttp-docker\n',
  'etc/hostname': 'tp-docker\n',
  // sudo asks PAM; the student may do anything as root without a password (sudoers.d/student).
  'etc/pam.d/sudo': 'auth sufficient pam_permit.so\naccount sufficient pam_permit.so\nsession optional pam_permit.so\n',
  'etc/pam.d/other': 'auth required pam_deny.so\naccount required pam_deny.so\npassword required pam_deny.so\nsession required pam_deny.so\n',
};

/** The packages the tree is made of: `linux` (the kernel, unpacked apart) and the userland. */
export async function guestPackages(apt: AptI386): Promise<{ kernel: DebianPackage; userland: DebianPackage[] }> {
  const kernel = await apt.candidate('linux-image-686', 'linux-image-');
  const userland = await apt.closure(ROOT_PACKAGES, SKIPPED_PACKAGES);
  return { kernel, userland };
}

/** Unpacks `userland` into `root` (made anew) and makes it a system. */
export async function makeGuestTree(apt: AptI386, userland: readonly DebianPackage[], root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  for (const pkg of userland) await AptI386.unpack(await apt.download(pkg), root);
  for (const path of PRUNED) await rm(join(root, path), { recursive: true, force: true });
  for (const dir of ['proc', 'sys', 'dev', 'run', 'tmp', 'root', 'home/student', 'etc/sudoers.d', 'etc/pam.d', 'etc/profile.d', 'var/tmp']) {
    await mkdir(join(root, dir), { recursive: true });
  }
  await chmod(join(root, 'tmp'), 0o1777);
  await chmod(join(root, 'var/tmp'), 0o1777);
  await chmod(join(root, 'root'), 0o700);
  for (const [path, text] of Object.entries(SYSTEM_FILES)) await writeFile(join(root, path), text);
  // base-files' maintainer script installs /etc/profile, which makes login shells read /etc/bash.bashrc (the marks' hook).
  await cp(join(root, 'usr', 'share', 'base-files', 'profile'), join(root, 'etc', 'profile'));
  await chmod(join(root, 'etc/shadow'), 0o640);
  await chmod(join(root, 'etc/gshadow'), 0o640);
  // The server machines' course files: shell integration, sudoers, UTF-8 profile.
  await cp(join(SERVER_ROOTFS_FILES, 'etc', 'cours-linux'), join(root, 'etc', 'cours-linux'), { recursive: true });
  await cp(join(SERVER_ROOTFS_FILES, 'etc', 'sudoers.d', 'student'), join(root, 'etc', 'sudoers.d', 'student'));
  await chmod(join(root, 'etc', 'sudoers.d', 'student'), 0o440);
  await cp(join(SERVER_ROOTFS_FILES, 'etc', 'profile.d', 'cours-linux.sh'), join(root, 'etc', 'profile.d', 'cours-linux.sh'));
  // Every interactive bash reads /etc/bash.bashrc: hook the OSC 133 marks there, as the server's setup.sh does.
  const bashrc = await readFile(join(root, 'etc', 'bash.bashrc'), 'utf8');
  await writeFile(
    join(root, 'etc', 'bash.bashrc'),
    `${bashrc}\n# Shell integration marks for the course's terminal.\n[ -r /etc/cours-linux/shell-integration.bash ] && . /etc/cours-linux/shell-integration.bash\n`,
  );
  for (const file of ['.bashrc', '.profile', '.bash_logout'])
    await cp(join(root, 'etc', 'skel', file), join(root, 'home', 'student', file)).catch(() => undefined);
  await cp(join(GUEST_FILES, 'init'), join(root, 'init'));
  await chmod(join(root, 'init'), 0o755);
  // sudo must be setuid root (dpkg-deb -x keeps the mode; say it anyway, it is what makes sudo work).
  await chmod(join(root, 'usr', 'bin', 'sudo'), 0o4755);
  await symlink('/proc/self/mounts', join(root, 'etc', 'mtab')).catch(() => undefined);
}
