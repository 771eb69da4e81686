// sandbox-launch: give one sandbox its root filesystem view, then exec the OCI runtime.
//
// Runs on the host, as root, once per runtime invocation. It works in a private
// mount namespace of its own, so nothing it mounts is ever visible on the host:
// the mounts live on only inside the container's mount namespace (copied from
// this one by the runtime) and vanish with it. No host-side unmount to forget.
//
//   1. unshare(CLONE_NEWNS), make every mount private;
//   2. detach the mounts named by --unmount (crun 1.8 refuses "hybrid" cgroup
//      hosts, where a cgroup2 tree sits beside the v1 hierarchies);
//   3. with --lower/--bundle: a read-only, id-mapped view of the shared root
//      filesystem (files owned by host uid 0 appear owned by --uid-base, the
//      sandbox's root), a size-limited tmpfs for everything the sandbox writes,
//      and an overlay of the two at BUNDLE/rootfs;
//   4. with --docker-disk: the sandbox's Docker disk (an ext4 image file made
//      by the server) on an auto-clearing loop device at BUNDLE/layer/docker,
//      so that the loop device and the mount live and die with the sandbox's
//      mount namespace: nothing to detach on the host afterwards;
//   5. with --user-namespace: the machine's user namespace (owned by --uid-base,
//      see user_namespace_fd) bound at that file, which the container's
//      config.json joins, instead of one the runtime would make as host root;
//   6. exec the command after "--" (crun …).
//
// The id-mapped mount needs a user namespace carrying the sandbox's map before
// the sandbox exists: a short-lived child creates it, we write its maps, keep
// a handle on it (and bind it for the runtime) and kill the child. The mount
// and the container then share that one namespace.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

// The child holding the machine's new user namespace while it is set up (see user_namespace_fd), if any.
static pid_t holder_pid = 0;

static void die(const char *step, const char *hint, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void die(const char *step, const char *hint, ...) {
  int saved = errno;
  // Ended and reaped here: it would end by itself (its read sees our exit), but as a zombie of a pid 1 that may not reap.
  if (holder_pid > 0) {
    kill(holder_pid, SIGKILL);
    waitpid(holder_pid, NULL, 0);
  }
  fprintf(stderr, "sandbox-launch: %s: %s", step, saved ? strerror(saved) : "failed");
  if (hint && *hint) {
    va_list ap;
    va_start(ap, hint);
    fputs(" (", stderr);
    vfprintf(stderr, hint, ap);
    fputs(")", stderr);
    va_end(ap);
  }
  fputc('\n', stderr);
  exit(125);
}

static unsigned long parse_number(const char *text, const char *option) {
  char *end = NULL;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 10);
  if (errno || !end || *end || end == text) {
    errno = EINVAL;
    die(option, "expected a decimal number, got '%s'", text);
  }
  return (unsigned long)value;
}

static void write_file(const char *path, const char *content) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die(path, "open");
  size_t length = strlen(content);
  if (write(fd, content, length) != (ssize_t)length) die(path, "write");
  close(fd);
}

// The machine's user namespace, mapping 0..count-1 to base..base+count-1, as an fd.
//
// It is made by a child running as host uid `base` (root inside), not as host
// root: the kernel charges a user namespace's counts (every namespace root
// inside makes, inotify, fanotify) at the host level to the namespace's owner,
// its creator's uid. Made by root, every machine would share host root's
// allowance (user.max_*_namespaces), and root inside one machine could use it
// up for all the others and the host. Owned by `base`, each machine has its own.
// Host root, privileged over the parent namespace, then writes the full map.
static int user_namespace_fd(unsigned long base, unsigned long count, pid_t *holder) {
  int ready[2], done[2];
  if (pipe2(ready, O_CLOEXEC) || pipe2(done, O_CLOEXEC)) die("pipe", NULL);
  pid_t child = fork();
  if (child < 0) die("fork", NULL);
  if (child == 0) {
    char byte = 0;
    // Only the parent writes `ready` and holds `done` open: its exit, whatever the path, ends our read.
    close(ready[0]);
    close(done[1]);
    // Failures are told by the exit status: 100, or unshare's errno (ENOSPC: this uid's user.max_user_namespaces).
    if (setgroups(0, NULL) || setresgid((gid_t)base, (gid_t)base, (gid_t)base) || setresuid((uid_t)base, (uid_t)base, (uid_t)base)) _exit(100);
    if (unshare(CLONE_NEWUSER)) _exit(errno > 0 && errno < 100 ? errno : 99);
    if (write(ready[1], &byte, 1) != 1) _exit(1);
    // Wait until the parent has taken its handle (it then kills us).
    if (read(done[0], &byte, 1) < 0) _exit(1);
    _exit(0);
  }
  char byte;
  close(ready[1]);
  close(done[0]);
  holder_pid = child;
  if (read(ready[0], &byte, 1) != 1) {
    int status = 0;
    waitpid(child, &status, 0);
    holder_pid = 0;  // reaped: not one for die() to end
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    if (code == 100) {
      errno = EPERM;
      die("setresuid", "could not become uid %lu, the machine's root on the host, to make its user namespace", base);
    }
    errno = code > 0 && code < 99 ? code : EPERM;
    die("unshare(CLONE_NEWUSER)", "the kernel refused a user namespace owned by uid %lu (its user.max_user_namespaces?)", base);
  }
  char path[64], map[96];
  snprintf(map, sizeof map, "0 %lu %lu\n", base, count);
  snprintf(path, sizeof path, "/proc/%d/uid_map", (int)child);
  write_file(path, map);
  snprintf(path, sizeof path, "/proc/%d/gid_map", (int)child);
  write_file(path, map);
  snprintf(path, sizeof path, "/proc/%d/ns/user", (int)child);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(path, "open");
  close(ready[0]);
  *holder = child;
  return fd;
}

// The namespace lives on in what holds it (the fd, the bind): the holder is no longer needed.
// (`done`'s write end, close-on-exec, goes at the runtime's exec.)
static void end_holder(pid_t holder) {
  kill(holder, SIGKILL);
  waitpid(holder, NULL, 0);
  holder_pid = 0;
}

// Binds the user namespace `userns` (a /proc/<pid>/ns/user or an fd of one) at `path`, a
// file the OCI runtime's config names: the runtime joins it there. The bind is in our
// private mount namespace only, and keeps the namespace alive until the runtime holds it.
static void bind_user_namespace(const char *source, const char *path) {
  int file = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (file < 0) die(path, "create the user namespace's mount point");
  close(file);
  if (mount(source, path, NULL, MS_BIND, NULL)) die("bind the machine's user namespace", "%s", path);
}

static void make_dir(const char *path, mode_t mode, uid_t owner) {
  if (mkdir(path, mode) && errno != EEXIST) die(path, "mkdir");
  if (chown(path, owner, owner)) die(path, "chown");
  if (chmod(path, mode)) die(path, "chmod");
}

static void mount_root_filesystem(const char *lower, const char *bundle, unsigned long uid_base,
                                  unsigned long id_count, unsigned long layer_size, const char *userns_path) {
  char lower_mount[4096], layer[4096], upper[4096], work[4096], docker[4096], rootfs[4096];
  snprintf(lower_mount, sizeof lower_mount, "%s/lower", bundle);
  snprintf(layer, sizeof layer, "%s/layer", bundle);
  snprintf(upper, sizeof upper, "%s/layer/upper", bundle);
  snprintf(work, sizeof work, "%s/layer/work", bundle);
  snprintf(docker, sizeof docker, "%s/layer/docker", bundle);
  snprintf(rootfs, sizeof rootfs, "%s/rootfs", bundle);

  pid_t holder;
  int userns = user_namespace_fd(uid_base, id_count, &holder);
  if (userns_path) {
    char source[64];
    snprintf(source, sizeof source, "/proc/%d/ns/user", (int)holder);
    bind_user_namespace(source, userns_path);
  }
  end_holder(holder);
  int tree = open_tree(AT_FDCWD, lower, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0) die("open_tree", "is %s a directory on a local filesystem?", lower);
  struct mount_attr attr = {
      .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY,
      .userns_fd = (unsigned long long)userns,
  };
  if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof attr))
    die("mount_setattr(MOUNT_ATTR_IDMAP)", "the filesystem holding %s must support id-mapped mounts (ext4, xfs, btrfs, tmpfs ≥ 6.3)", lower);
  if (mkdir(lower_mount, 0755) && errno != EEXIST) die(lower_mount, "mkdir");
  if (move_mount(tree, "", AT_FDCWD, lower_mount, MOVE_MOUNT_F_EMPTY_PATH)) die("move_mount", NULL);
  close(tree);
  close(userns);

  char options[256];
  if (mkdir(layer, 0755) && errno != EEXIST) die(layer, "mkdir");
  snprintf(options, sizeof options, "size=%lu,mode=0755", layer_size);
  if (mount("tmpfs", layer, "tmpfs", MS_NODEV, options))
    die("mount tmpfs", "writable layer at %s", layer);
  make_dir(upper, 0755, (uid_t)uid_base);
  make_dir(work, 0700, 0);
  make_dir(docker, 0710, (uid_t)uid_base);

  if (mkdir(rootfs, 0755) && errno != EEXIST) die(rootfs, "mkdir");
  char overlay[3 * 4096 + 64];
  snprintf(overlay, sizeof overlay, "lowerdir=%s,upperdir=%s,workdir=%s", lower_mount, upper, work);
  if (mount("overlay", rootfs, "overlay", 0, overlay))
    die("mount overlay", "the kernel needs overlayfs with id-mapped lower layers (Linux ≥ 5.19)");
}

// Attaches `image` to a free loop device that clears itself on last close,
// and returns the device's fd (the caller mounts it, then closes the fd).
static int attach_loop(const char *image) {
  int backing = open(image, O_RDWR | O_CLOEXEC);
  if (backing < 0) die(image, "open the Docker disk image");
  int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (control < 0) die("/dev/loop-control", "the host needs the loop driver");
  for (int attempt = 0; attempt < 32; attempt++) {
    int number = ioctl(control, LOOP_CTL_GET_FREE);
    if (number < 0) die("LOOP_CTL_GET_FREE", NULL);
    char device[64];
    snprintf(device, sizeof device, "/dev/loop%d", number);
    // A /dev without udev may lack the node of a device the kernel just made.
    if (mknod(device, S_IFBLK | 0600, makedev(7, (unsigned)number)) && errno != EEXIST) die(device, "mknod");
    int loop = open(device, O_RDWR | O_CLOEXEC);
    if (loop < 0) die(device, "open");
    struct loop_config config = {.fd = (unsigned)backing, .info = {.lo_flags = LO_FLAGS_AUTOCLEAR}};
    snprintf((char *)config.info.lo_file_name, LO_NAME_SIZE, "%s", image);
    if (ioctl(loop, LOOP_CONFIGURE, &config) == 0) {
      close(control);
      close(backing);
      return loop;
    }
    int saved = errno;
    close(loop);
    errno = saved;
    if (errno != EBUSY) die("LOOP_CONFIGURE", "Linux ≥ 5.8 is needed");
    // Another process took this device between GET_FREE and CONFIGURE: try the next.
  }
  errno = EBUSY;
  die("attach a loop device", "no free loop device after 32 attempts");
}

static void mount_docker_disk(const char *bundle, const char *image) {
  char docker[4096], device[64];
  snprintf(docker, sizeof docker, "%s/layer/docker", bundle);
  int loop = attach_loop(image);
  snprintf(device, sizeof device, "/proc/self/fd/%d", loop);
  // discard: what dockerd deletes is given back to the host's disk (the image is sparse).
  if (mount(device, docker, "ext4", MS_NODEV | MS_NOSUID, "discard"))
    die("mount the Docker disk", "%s must be an ext4 image (the server makes it with mkfs.ext4)", image);
  close(loop);
}

static void usage(void) {
  fputs("usage: sandbox-launch [--unmount PATH]... [--lower DIR --bundle DIR --uid-base N --id-count N\n"
        "                      --layer-size BYTES [--docker-disk IMAGE] [--user-namespace FILE]] -- COMMAND [ARG]...\n",
        stderr);
  exit(125);
}

int main(int argc, char **argv) {
  static const struct option options[] = {
      {"unmount", required_argument, NULL, 'u'}, {"lower", required_argument, NULL, 'l'},
      {"bundle", required_argument, NULL, 'b'},  {"uid-base", required_argument, NULL, 'i'},
      {"id-count", required_argument, NULL, 'c'}, {"layer-size", required_argument, NULL, 's'},
      {"docker-disk", required_argument, NULL, 'd'}, {"user-namespace", required_argument, NULL, 'n'},
      {NULL, 0, NULL, 0},
  };
  const char *unmounts[16];
  int unmount_count = 0;
  const char *lower = NULL, *bundle = NULL, *docker_disk = NULL, *userns_path = NULL;
  unsigned long uid_base = 0, id_count = 65536, layer_size = 0;
  int option;
  while ((option = getopt_long(argc, argv, "+", options, NULL)) != -1) {
    switch (option) {
      case 'u':
        if (unmount_count == 16) usage();
        unmounts[unmount_count++] = optarg;
        break;
      case 'l': lower = optarg; break;
      case 'b': bundle = optarg; break;
      case 'i': uid_base = parse_number(optarg, "--uid-base"); break;
      case 'c': id_count = parse_number(optarg, "--id-count"); break;
      case 's': layer_size = parse_number(optarg, "--layer-size"); break;
      case 'd': docker_disk = optarg; break;
      case 'n': userns_path = optarg; break;
      default: usage();
    }
  }
  if (optind >= argc) usage();
  if ((lower == NULL) != (bundle == NULL)) usage();
  if (lower && (uid_base == 0 || layer_size == 0)) usage();
  if ((docker_disk || userns_path) && !lower) usage();

  if (unshare(CLONE_NEWNS)) die("unshare(CLONE_NEWNS)", "run as root");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) die("make / private", NULL);
  for (int i = 0; i < unmount_count; i++)
    if (umount2(unmounts[i], MNT_DETACH) && errno != EINVAL && errno != ENOENT) die(unmounts[i], "umount");
  if (lower) mount_root_filesystem(lower, bundle, uid_base, id_count, layer_size, userns_path);
  if (docker_disk) mount_docker_disk(bundle, docker_disk);

  execvp(argv[optind], argv + optind);
  die(argv[optind], "exec");
}
