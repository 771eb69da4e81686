// The sandbox's seccomp filter: a short deny list rather than Docker's long
// allow list. The lesson needs the namespace system calls (unshare, setns,
// clone3, mount, pivot_root, sethostname…) that allow lists exist to forbid;
// what remains worth closing is the kernel surface a user namespace can reach
// and a course never needs. Most of these already require privileges over the
// host the sandbox does not have; refusing them here is the second lock.
//
// Kernel keyrings (keyctl, add_key, request_key) answer ENOSYS. Keys are kept
// in kernel memory that no memory cgroup is charged for, within a quota per
// host uid (20 000 bytes at Debian's defaults) — and a machine has 65 536 host
// uids: measured, root inside one machine stored 70 MB of the host's memory
// in 2000 keys (one per uid it switched to) while its cgroup was charged
// 0.4 MB; all 65 536 uids would hold ≈ 2.3 GB, per machine, for as long as
// the machine lives. ENOSYS, not EPERM: runc then goes on without the session
// keyring it gives each container (it tolerates a kernel without keys), so
// `docker run` still works; EPERM made it fail ("unable to join session keyring").

const deniedForReason: Record<string, string[]> = {
  // Loading code into, or replacing, the running kernel.
  kernel: ['init_module', 'finit_module', 'delete_module', 'kexec_load', 'kexec_file_load'],
  // Host-wide state that no namespace isolates.
  host: ['reboot', 'swapon', 'swapoff', 'acct', 'settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex', 'syslog'],
  // Rich kernel interfaces behind many privilege escalations; no lesson uses them.
  attackSurface: ['bpf', 'perf_event_open', 'userfaultfd', 'open_by_handle_at', 'iopl', 'ioperm', 'lookup_dcookie'],
};

// ENOSYS, not EPERM, so that programs fall back: libuv to ordinary I/O without io_uring, runc to no session keyring.
const unimplemented = ['io_uring_setup', 'io_uring_enter', 'io_uring_register', 'keyctl', 'add_key', 'request_key'];

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
