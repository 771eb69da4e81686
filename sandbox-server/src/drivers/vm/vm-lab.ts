// A lab of VMs (machine-lab.ts has what every lab does): each machine a
// whole VmSandbox, on a private Ethernet of their own.
//
// The network is the namespace driver's kind (namespace/lab-network.ts): a
// network namespace of the lab's own holding a bridge, with no link, address
// or route to the host's. Each machine's QEMU is started inside that
// namespace, on a tap device plugged into the bridge; the guest sees a
// virtio NIC with the address the host chose (vm/boot.sh). So a machine
// reaches its lab's other machines and nothing else: not the host, not
// another lab, not the outside. No multicast, no host port, no userspace
// switch: the kernel's bridge forwards, and nothing filters on it (Swarm's
// 2377/tcp, 7946/tcp+udp and 4789/udp pass like the rest). The namespace,
// its bridge and taps outlive the server with the VMs.
//
// Unlike a namespace lab's (namespace/lab-network.ts), this namespace is host
// root's, counted in host root's user.max_net_namespaces: a VM has no host uid
// of its own to charge it to. Every QEMU runs as the same `nobody`, inside
// this very namespace; a user namespace owned by `nobody` would give each
// QEMU (the VM driver's one way out of a guest) every capability over its
// lab's bridge and taps. Nor does a reader make any host namespace in this
// driver: host root's count grows with the number of labs only, which
// MAX_SANDBOXES bounds.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LabMachine, SandboxSpec } from '../driver.ts';
import { labMemberSpec, type LabDriverParts, type LabMachineMaker, type MachineLab } from '../machine-lab.ts';
import type { LabNetwork } from '../namespace/lab-network.ts';
import { VmSandbox, type VmHost } from './vm-sandbox.ts';

const run = promisify(execFile);
/** The lab bridge's name inside the lab's namespace (namespace/lab-network.ts makes it). */
const BRIDGE = 'lab0';

export type VmLab = MachineLab<VmSandbox>;

/** A locally administered, unicast MAC, distinct per machine of a lab (the bridge learns by it). */
function macOf(subnet: string, index: number): string {
  const third = Number(subnet.split('.')[2] ?? 0);
  return `52:54:00:${(third & 0xff).toString(16).padStart(2, '0')}:00:${(index + 1).toString(16).padStart(2, '0')}`;
}

async function ipIn(netns: string, args: string[]): Promise<void> {
  try {
    await run('ip', ['-n', netns, ...args]);
  } catch (error) {
    const stderr = ((error as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`ip -n ${netns} ${args.join(' ')} failed: ${stderr || (error as Error).message}`);
  }
}

/** startLab/adoptLab's view of this driver: how it makes machine `index` of lab `spec`. */
export function vmLabParts(host: VmHost, spec: SandboxSpec, track: (member: VmSandbox) => void): LabDriverParts<VmSandbox> {
  return {
    prefix: host.options.prefix,
    // Host root's: see the top of this file.
    networkOwner: 'host-root',
    log: host.options.log,
    track,
    makerFor: (network, subnet, machines) => vmMaker(host, spec, network, subnet, machines),
  };
}

function vmMaker(host: VmHost, spec: SandboxSpec, network: LabNetwork | undefined, subnet: string, hosts: LabMachine[]): LabMachineMaker<VmSandbox> {
  const onNetwork = (): LabNetwork => {
    if (!network) throw new Error(`lab ${spec.id} has no network`);
    return network;
  };
  return {
    start: async (index) => {
      const { netns } = onNetwork();
      // Made by root, on the bridge, before QEMU opens it (QEMU then drops root).
      await ipIn(netns, ['tuntap', 'add', 'dev', `tap${index}`, 'mode', 'tap']);
      await ipIn(netns, ['link', 'set', `tap${index}`, 'master', BRIDGE, 'up']);
      return VmSandbox.start(host, labMemberSpec(spec, index), {
        hostname: hosts[index]!.name,
        hosts,
        netns,
        // One reader: the lab's machines share one namespace in the class registry.
        reader: spec.id,
        nic: { tap: `tap${index}`, mac: macOf(subnet, index), address: `${hosts[index]!.address}/24` },
      });
    },
    adopt: (index) => VmSandbox.adopt(host, labMemberSpec(spec, index)),
    // A tap outlives the QEMU that had it open: the machine made anew at this index gets a new one.
    unplug: async (index) => {
      await ipIn(onNetwork().netns, ['link', 'del', `tap${index}`]).catch(() => {}); // never made, or gone
    },
  };
}
