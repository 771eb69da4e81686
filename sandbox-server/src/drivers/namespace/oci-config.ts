// The OCI runtime configuration (config.json) of one sandbox.
//
// Starting point: `crun spec`. Changes, each needed by the course:
// - user and cgroup namespaces on top of pid/net/ipc/uts/mount; root inside
//   is the first id of the sandbox's own host range. The user namespace is
//   joined, not made: sandbox-launch makes it as that host id, so that the
//   kernel charges what root inside makes (namespaces, inotify…) to the
//   machine's own host uid, not to host root, whom every machine would share;
// - noNewPrivileges off and a capability set with CAP_SYS_ADMIN (sudo must
//   work, and `sudo unshare`/`mount` as root inside);
// - a writable cgroup mount (dockerd makes its own groups);
// - tmpfs on /run; /var/lib/docker on a bind of the writable layer's tmpfs
//   (overlay2 cannot stack on the overlay root);
// - the agent's files, read-only, and its socket directory;
// - PID 1 is sandbox-init (reaps, holds the low pids), which starts the agent.
import { seccompProfile } from './seccomp.ts';
import type { SandboxLimits } from '../driver.ts';
import { AGENT_CONFIG_ENV, type AgentConfig } from '../../../../contracts/agent-protocol.ts';
import { AGENT_NODE_OPTIONS, SANDBOX_PATHS, type BindMount } from '../../rootfs/agent-files.ts';

// Docker's default set, plus what the lesson needs as root inside.
const CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
  // unshare, mount, sethostname, dockerd.
  'CAP_SYS_ADMIN',
  // `ip link`, `ip netns` exercises (the network namespace holds only lo).
  'CAP_NET_ADMIN',
  // Root of the machine reads every process's /proc/<pid>/ns, as on the course
  // VM: `sudo ls -l /proc/<student's bash>/ns`, and the agent's « Vue des
  // namespaces » (without it, the links of other users' and of setuid
  // processes such as sudo are refused by the kernel's ptrace check). Only
  // over the sandbox's own user namespace.
  'CAP_SYS_PTRACE',
];

// Character devices a shell needs: null, zero, full, random, urandom, tty,
// console, ptmx and the ptys. Everything else (block devices first) is refused.
const ALLOWED_DEVICES = [
  [1, 3],
  [1, 5],
  [1, 7],
  [1, 8],
  [1, 9],
  [5, 0],
  [5, 1],
  [5, 2],
  [136, undefined],
] as const;

/** The most ptys a machine's /dev/pts holds at once (terminals are ≤ MAX_TERMINALS_PER_SANDBOX; the rest for ssh, script, tmux…). */
export const MACHINE_PTYS = 512;

export interface SandboxConfigInput {
  hostname: string;
  /** The machine's user namespace, mapped and bound there by sandbox-launch (runtime.ts: userNamespace). */
  userNamespacePath: string;
  limits: SandboxLimits;
  /** Relative to each cgroup hierarchy's root. */
  cgroupPath: string;
  holdPids: number;
  agent: AgentConfig;
  /** Agent files and the socket directory (see rootfs/agent-files.ts). */
  binds: BindMount[];
  /** Host directory (on the writable layer's tmpfs, inside the launch namespace) for /var/lib/docker. */
  dockerDir: string;
}

export function sandboxConfig(input: SandboxConfigInput): object {
  const { limits } = input;
  const period = 100_000;
  return {
    ociVersion: '1.0.0',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [
        SANDBOX_PATHS.init,
        '--hold-pids',
        String(input.holdPids),
        '--',
        SANDBOX_PATHS.keeper,
        SANDBOX_PATHS.node,
        ...AGENT_NODE_OPTIONS,
        SANDBOX_PATHS.agentMain,
      ],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', `${AGENT_CONFIG_ENV}=${JSON.stringify(input.agent)}`],
      cwd: '/',
      capabilities: {
        bounding: CAPABILITIES,
        effective: CAPABILITIES,
        permitted: CAPABILITIES,
        inheritable: [],
        ambient: [],
      },
      // The host's hard limit is the ceiling; dockerd wants many.
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 16384, soft: 16384 }],
      noNewPrivileges: false,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: input.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        // max: the machine's own ptys (its terminals, a loop over /dev/ptmx) stay a small share of the host's
        // (shared-kernel-limits.ts); a devpts root inside mounts anew (Docker's containers) is bounded by memory.
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5', `max=${MACHINE_PTYS}`],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=16m'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'rw'] },
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755', 'size=16m'] },
      { destination: '/var/lib/docker', type: 'bind', source: input.dockerDir, options: ['bind', 'rw'] },
      ...input.binds.map((bind) => ({
        destination: bind.target,
        type: 'bind',
        source: bind.source,
        options: ['bind', bind.readonly ? 'ro' : 'rw', 'nosuid', 'nodev'],
      })),
    ],
    linux: {
      // Its maps (0 → the range's base, 65 536 ids) come with the joined user namespace.
      namespaces: [...['pid', 'network', 'ipc', 'uts', 'mount'].map((type) => ({ type })), { type: 'user', path: input.userNamespacePath }, { type: 'cgroup' }],
      cgroupsPath: `/${input.cgroupPath}`,
      resources: {
        devices: [
          { allow: false, access: 'rwm' },
          // No minor: every minor (all the ptys).
          ...ALLOWED_DEVICES.map(([major, minor]) => ({ allow: true, type: 'c', major, ...(minor === undefined ? {} : { minor }), access: 'rwm' })),
        ],
        // swap = limit: no swapping out of the limit (the host has no swap anyway).
        memory: { limit: limits.memoryBytes, swap: limits.memoryBytes },
        pids: { limit: limits.pids },
        cpu: { quota: Math.round(limits.cpus * period), period },
      },
      // The machine's own network namespace routes between its containers
      // (dockerd's bridge): /proc/sys stays read-only, crun sets this one value.
      // And every user of the machine may ping (ICMP echo sockets, no raw socket nor file capability needed), as on a Debian host.
      sysctl: { 'net.ipv4.ip_forward': '1', 'net.ipv4.ping_group_range': '0 65535' },
      seccomp: seccompProfile(),
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/proc/scsi',
        '/sys/firmware',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}
