// One machine's processes as the panel knows them: the last `snapshot`
// message with every later `diff` applied (protocol.ts). Pure: the tests and
// the panel share it.
import type { NamespacesDiffMessage, NamespacesSnapshotMessage } from '../../../contracts/protocol.ts';
import type { OmittedProcesses, SnapshotProcess } from '../../../contracts/process-snapshot.ts';

export interface MachinePicture {
  machine: string;
  seq: number;
  at: string;
  total: number;
  omitted: OmittedProcesses;
  terminals: { name: string; pid: number }[];
  /** By pid. */
  processes: Map<number, SnapshotProcess>;
}

/** A diff that does not follow the picture it is meant for (lost message, other machine): reconnect for a whole snapshot. */
export class PictureOutOfStepError extends Error {
  override name = 'PictureOutOfStepError';
}

export function applyNamespaceMessage(picture: MachinePicture | undefined, message: NamespacesSnapshotMessage | NamespacesDiffMessage): MachinePicture {
  const header = { machine: message.machine, seq: message.seq, at: message.at, total: message.total, omitted: message.omitted, terminals: message.terminals };
  if (message.type === 'snapshot') {
    return { ...header, processes: new Map(message.processes.map((process) => [process.pid, process])) };
  }
  if (picture === undefined || picture.machine !== message.machine || message.seq !== picture.seq + 1) {
    throw new PictureOutOfStepError(
      `le changement ${message.seq} de ${message.machine} ne suit pas ${picture ? `l'état ${picture.seq} de ${picture.machine}` : 'un état connu'}`,
    );
  }
  const processes = new Map(picture.processes);
  for (const pid of message.removed) processes.delete(pid);
  for (const process of message.upserted) processes.set(process.pid, process);
  return { ...header, processes };
}
