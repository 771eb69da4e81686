// The sandbox's seccomp filter: a short deny list rather than Docker's long
// allow list. The lesson needs the namespace system calls (unshare, setns,
// clone3, mount, pivot_root, sethostname…) that allow lists exist to forbid;
// what remains worth closing is the kernel surface a user namespace can reach
// and a course never needs. Most of these already require privileges over the
// host the sandbox does not have; refusing them here is the second lock.
//
// Kernel keyrings (keyctl, add_key, request_key) are allowed: runc gives each
// container a session keyring of its own, so dockerd cannot run a container
// without them. Since Linux 5.3 keyring names live in per-user-namespace lists
// and the user/user-session keyrings belong to the user namespace, and key
// permissions and quotas are checked against host uids: each sandbox has a
// host uid range of its own, so it neither finds nor reads nor exhausts
// another sandbox's keys. What stays shared is the kernel code behind these
// calls (see README, "what Docker opens").

const deniedForReason: Record<string, string[]> = {
  // Loading code into, or replacing, the running kernel.
  kernel: ['init_module', 'finit_module', 'delete_module', 'kexec_load', 'kexec_file_load'],
  // Host-wide state that no namespace isolates.
  host: ['reboot', 'swapon', 'swapoff', 'acct', 'settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex', 'syslog'],
  // Rich kernel interfaces behind many privilege escalations; no lesson uses them.
  attackSurface: ['bpf', 'perf_event_open', 'userfaultfd', 'open_by_handle_at', 'iopl', 'ioperm', 'lookup_dcookie'],
};

// io_uring answers ENOSYS, not EPERM, so that programs (libuv) fall back to ordinary I/O.
const unimplemented = ['io_uring_setup', 'io_uring_enter', 'io_uring_register'];

const EPERM = 1;
const ENOSYS = 38;

export function seccompProfile(): object {
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    // The names are resolved for every ABI a process could use to reach the kernel.
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      { names: Object.values(deniedForReason).flat(), action: 'SCMP_ACT_ERRNO', errnoRet: EPERM },
      { names: unimplemented, action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
    ],
  };
}
