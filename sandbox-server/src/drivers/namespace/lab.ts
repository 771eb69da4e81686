// A lab of namespace sandboxes (machine-lab.ts has what every lab does). Each
// machine is a whole namespace sandbox with its own uid range, cgroups, disk
// and Docker; the lab adds its name, the others' names in /etc/hosts and an
// eth0 on the lab's bridge, plugged in once its init runs.
import type { LabMachine, SandboxSpec } from '../driver.ts';
import { labMachineId, labMemberSpec, type LabDriverParts, type LabMachineMaker, type MachineLab } from '../machine-lab.ts';
import type { LabNetwork } from './lab-network.ts';
import { NamespaceSandbox, type SandboxHost } from './sandbox.ts';

export { labMachineId };
export type NamespaceLab = MachineLab<NamespaceSandbox>;

/** startLab/adoptLab's view of this driver: how it makes machine `index` of lab `spec`. */
export function namespaceLabParts(host: SandboxHost, spec: SandboxSpec, track: (member: NamespaceSandbox) => void): LabDriverParts<NamespaceSandbox> {
  return {
    prefix: host.options.prefix,
    // Made with its first machine, charged to that machine's base uid as the machines' own namespaces are.
    networkOwner: 'first-machine',
    log: host.options.log,
    track,
    makerFor: (network, _subnet, machines) => namespaceMaker(host, spec, network, machines),
  };
}

function namespaceMaker(host: SandboxHost, spec: SandboxSpec, network: LabNetwork | undefined, hosts: LabMachine[]): LabMachineMaker<NamespaceSandbox> {
  const onNetwork = (): LabNetwork => {
    if (!network) throw new Error(`lab ${spec.id} has no network`);
    return network;
  };
  return {
    start: (index) =>
      NamespaceSandbox.start(host, labMemberSpec(spec, index), {
        hostname: hosts[index]!.name,
        hosts,
        // One reader: the lab's machines share one namespace in the class registry.
        reader: spec.id,
        join: async (pid, uid) => {
          await onNetwork().attach(index, pid, uid);
        },
      }),
    adopt: (index) => NamespaceSandbox.adopt(host, labMemberSpec(spec, index)),
    // The old pair dies with the old machine's namespace, which the kernel frees in its own time: make room now.
    unplug: async (index) => onNetwork().unplug(index),
  };
}
