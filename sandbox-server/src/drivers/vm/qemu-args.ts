// The QEMU command line of one sandbox VM. A pure function: what a VM is
// made of, in one place, testable without starting anything.
import type { AgentConfig } from '../../../../contracts/agent-protocol.ts';
import type { Accelerator } from './accelerator.ts';

/** Name of the virtio-serial port the agent talks on (/dev/virtio-ports/<name> in the guest, see vm/boot.sh). */
export const AGENT_PORT_NAME = 'cours-linux.agent';
/** Name of the virtio-serial port of the class image store's channel (agent/registry-channel.ts). */
export const REGISTRY_PORT_NAME = 'cours-linux.registry';
/** Where the guest's agent listens (agent transport `listen:`); vm/boot.sh's vport-bridge joins the agent port to it. */
export const GUEST_AGENT_SOCKET = '/run/cours-linux-agent.sock';

export interface LabNic {
  /** The tap device, in the lab's network namespace. */
  tap: string;
  mac: string;
  /** The guest's address with its prefix length, e.g. 192.168.3.11/24 (vm/boot.sh sets it on eth0). */
  address: string;
}

export interface VmLaunch {
  /** Shown by QEMU as the guest's name; `<prefix>-<id>`, how leftovers are recognised. */
  name: string;
  /** Process name (comm, ≤ 15 characters): what `ps` and `top` show on the host. */
  processName: string;
  accelerator: Accelerator;
  tbSizeMiB: number;
  memoryMiB: number;
  cpus: number;
  kernel: string;
  initrd: string;
  disk: string;
  /** Unix socket QEMU listens on for the agent's port; one server after another connects to it. */
  agentSocket: string;
  /** The VM's Docker disk (raw, sparse; /dev/vdb in the guest), when it runs Docker. */
  dockerDisk?: string;
  /** Unix socket QEMU listens on for the image store's channel, when it runs Docker. */
  registrySocket?: string;
  /** A lab machine's NIC: a tap on its lab's bridge (QEMU runs in the lab's network namespace), and its address there. */
  labNic?: LabNic;
  consoleLog: string;
  agent: AgentConfig;
  /** User QEMU becomes once its files are open; empty: stays root. */
  runAs: string;
  /** Firmware; undefined: QEMU's default (SeaBIOS). */
  bios?: string;
}

export function qemuArgs(launch: VmLaunch): string[] {
  const agentConfig = Buffer.from(JSON.stringify(launch.agent)).toString('base64');
  const kernelCommandLine = [
    'console=ttyS0',
    // A guest kernel panic (e.g. its init killed) ends the VM instead of hanging it.
    'panic=-1',
    'quiet',
    'root=/dev/vda',
    // Nothing inside is protected from anything else inside by these: one
    // reader, one machine. Under TCG they cost boot time for nothing.
    'mitigations=off',
    ...(launch.dockerDisk ? ['cours_linux.docker_disk=vdb'] : []),
    ...(launch.labNic ? [`cours_linux.address=${launch.labNic.address}`] : []),
    `cours_linux.agent=${agentConfig}`,
  ].join(' ');
  return [
    '-name',
    `guest=${launch.name},process=${launch.processName}`,
    ...(launch.accelerator === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', `tcg,tb-size=${launch.tbSizeMiB}`]),
    // `pc`, not `microvm`: under TCG microvm hung at boot half the time with Debian's kernel.
    '-machine',
    'pc',
    // qboot does only what booting a kernel needs: ≈ 1 s less than SeaBIOS under TCG.
    ...(launch.bios ? ['-bios', launch.bios] : []),
    '-m',
    String(launch.memoryMiB),
    '-smp',
    String(launch.cpus),
    // Only the devices listed here: no NIC (the guest has no network at all,
    // only lo) unless it is a lab's machine, no VGA, no USB, no floppy, no CD.
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    ...(launch.labNic
      ? // The tap sits on the lab's bridge, in the lab's own network namespace: the other machines and nothing else.
        ['-netdev', `tap,id=lab,ifname=${launch.labNic.tap},script=no,downscript=no`, '-device', `virtio-net-pci,netdev=lab,mac=${launch.labNic.mac}`]
      : ['-nic', 'none']),
    '-no-reboot',
    '-kernel',
    launch.kernel,
    '-initrd',
    launch.initrd,
    '-append',
    kernelCommandLine,
    // snapshot=on: writes go to a temporary file (in $TMPDIR, the VM's own
    // directory), never to the shared image; cache=unsafe: nothing to keep.
    '-drive',
    `file=${launch.disk},format=raw,if=virtio,snapshot=on,cache=unsafe`,
    // The Docker disk: the VM's own file, written in place; discard=unmap
    // turns the guest's discards into holes, so the host keeps paying only for what is used.
    ...(launch.dockerDisk ? ['-drive', `file=${launch.dockerDisk},format=raw,if=virtio,cache=unsafe,discard=unmap`] : []),
    '-device',
    'virtio-serial-pci,id=serial0',
    // QEMU listens, and waits for nobody: the server connects once the VM runs, and the next server
    // after a restart (the guest sees each host come and go, vm/vport-bridge.c).
    '-chardev',
    `socket,id=agent,path=${launch.agentSocket},server=on,wait=off`,
    '-device',
    `virtserialport,bus=serial0.0,chardev=agent,name=${AGENT_PORT_NAME}`,
    // Pulls from the class image store, multiplexed on one port: no NIC, no route.
    ...(launch.registrySocket
      ? [
          '-chardev',
          `socket,id=registry,path=${launch.registrySocket},server=on,wait=off`,
          '-device',
          `virtserialport,bus=serial0.0,chardev=registry,name=${REGISTRY_PORT_NAME}`,
        ]
      : []),
    '-device',
    'virtio-rng-pci',
    '-serial',
    `file:${launch.consoleLog}`,
    // Defence in depth should the guest break out into QEMU: a seccomp
    // filter (no spawning, no obsolete syscalls) and no root. -runas needs
    // setuid() after the filter is in place, so set*id is denied only when
    // QEMU stays root; once it is `nobody`, there is nothing to elevate to.
    '-sandbox',
    `on,obsolete=deny,spawn=deny,resourcecontrol=deny,elevateprivileges=${launch.runAs ? 'allow' : 'deny'}`,
    ...(launch.runAs ? ['-runas', launch.runAs] : []),
  ];
}
