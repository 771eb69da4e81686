// The panel's two views of the same grouping (namespace-groups.ts), as plain
// DOM: the picture — one band per kind of namespace, one box per namespace
// labelled as `ls -l /proc/<pid>/ns` prints it, the processes inside as
// chips, the terminals' shells marked « terminal 1 » — and the table, one row
// per process with its eight namespaces, which screen readers get.
import { NAMESPACE_TYPES, namespaceLabel, type SnapshotProcess } from '../../../contracts/process-snapshot.ts';
import type { MachinePicture } from './machine-picture.ts';
import { commandName, type NamespaceBand, type NamespaceGroup } from './namespace-groups.ts';

/** What each kind of namespace isolates, in the lesson's words. */
const WHAT: Record<string, string> = {
  pid: 'numéros de processus',
  net: 'réseau',
  mnt: 'points de montage',
  uts: 'nom de la machine',
  ipc: 'communication entre processus',
  user: 'UID et GID',
  cgroup: 'groupes de contrôle',
  time: 'horloges',
};

/** Chips shown per namespace box; the rest is counted. */
const CHIPS_PER_GROUP = 8;

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className !== undefined) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The picture: `fresh` holds the labels of the namespaces that just appeared (highlighted). */
export function renderBands(bands: NamespaceBand[], fresh: ReadonlySet<string>): HTMLElement {
  const root = element('div', 'nsv-bands');
  for (const band of bands) {
    const section = element('section', 'nsv-band');
    section.dataset.nsType = band.type;
    const head = element('h3', 'nsv-band-title');
    head.append(
      element('span', 'nsv-type', band.type),
      element('span', 'nsv-what', ` ${WHAT[band.type] ?? ''} · ${band.groups.length === 1 ? '1 namespace' : `${band.groups.length} namespaces`}`),
    );
    const groups = element('div', 'nsv-groups');
    for (const group of band.groups) groups.append(renderGroup(group, fresh.has(group.label)));
    section.append(head, groups);
    root.append(section);
  }
  return root;
}

function renderGroup(group: NamespaceGroup, isNew: boolean): HTMLElement {
  const box = element('div', 'nsv-ns');
  box.dataset.nsLabel = group.label;
  if (group.machine) box.dataset.nsMachine = '';
  if (isNew) box.dataset.nsNew = '';
  if (group.init) box.dataset.nsInit = commandName(group.init.command);
  const title = element('div', 'nsv-ns-title');
  title.append(element('code', 'nsv-label', group.label));
  if (group.machine) title.append(element('span', 'nsv-tag', 'celui de la machine'));
  if (isNew) title.append(element('span', 'nsv-tag nsv-tag-new', 'nouveau'));
  for (const name of group.terminals) title.append(element('span', 'nsv-terminal', `terminal ${name}`));
  for (const name of group.containers) title.append(element('span', 'nsv-container', `conteneur ${name}`));
  box.append(title);
  if (group.init && !group.machine) box.append(element('p', 'nsv-init', `PID 1 : ${commandName(group.init.command)}`));
  const chips = element('ul', 'nsv-procs');
  const shown = chipOrder(group).slice(0, CHIPS_PER_GROUP);
  for (const process of shown) chips.append(renderChip(process, group));
  const rest = group.processes.length - shown.length;
  if (rest > 0) chips.append(element('li', 'nsv-more', `+ ${rest} autre${rest > 1 ? 's' : ''}`));
  box.append(chips);
  return box;
}

/** Terminals' processes first (what the reader did), then the namespace's own PID 1, then by pid. */
function chipOrder(group: NamespaceGroup): SnapshotProcess[] {
  const rank = (process: SnapshotProcess) => (process === group.init ? 0 : process.terminal !== undefined ? 1 : 2);
  return [...group.processes].sort((a, b) => rank(a) - rank(b) || a.pid - b.pid);
}

function renderChip(process: SnapshotProcess, group: NamespaceGroup): HTMLElement {
  const chip = element('li', 'nsv-proc');
  chip.title = `${process.command} — PID ${process.pid}${process.nspid !== process.pid ? ` (${process.nspid} dans son namespace pid)` : ''}, ${process.user}`;
  chip.append(element('span', 'nsv-proc-name', commandName(process.command)));
  const pid = group.type === 'pid' && process.nspid !== process.pid ? `${process.nspid}` : `${process.pid}`;
  chip.append(element('span', 'nsv-proc-pid', pid));
  if (process.terminal !== undefined)
    chip.append(element('span', 'nsv-proc-terminal', process.shell ? `terminal ${process.terminal}` : `t${process.terminal}`));
  return chip;
}

/** The same information, one row per process: what a screen reader reads. */
export function renderTable(picture: MachinePicture): HTMLTableElement {
  const table = element('table', 'nsv-table');
  table.dataset.namespaceTable = '';
  table.append(element('caption', undefined, `Processus de la machine et leurs namespaces (${picture.processes.size} décrits sur ${picture.total})`));
  const head = element('thead');
  const headRow = element('tr');
  for (const title of ['PID', 'PID dans son namespace', 'Utilisateur', 'Commande', 'Terminal', 'Conteneur', ...NAMESPACE_TYPES]) {
    const cell = element('th', undefined, title);
    cell.scope = 'col';
    headRow.append(cell);
  }
  head.append(headRow);
  const body = element('tbody');
  const processes = [...picture.processes.values()].sort((a, b) => a.pid - b.pid);
  for (const process of processes) {
    const row = element('tr');
    row.dataset.pid = String(process.pid);
    const pid = element('th', undefined, String(process.pid));
    pid.scope = 'row';
    row.append(pid, element('td', undefined, String(process.nspid)), element('td', undefined, process.user), element('td', undefined, process.command));
    const terminal = process.terminal === undefined ? '' : process.shell ? `terminal ${process.terminal} (son shell)` : `terminal ${process.terminal}`;
    row.append(element('td', undefined, terminal), element('td', undefined, process.container ?? ''));
    NAMESPACE_TYPES.forEach((type, index) => {
      const inode = process.ns[index];
      row.append(element('td', undefined, inode === null || inode === undefined ? 'illisible' : namespaceLabel(type, inode)));
    });
    body.append(row);
  }
  table.append(head, body);
  return table;
}

/** « 3 autres processus : sleep ×2, bash ×1 » when the machine holds more than a snapshot describes. */
export function omittedText(picture: MachinePicture): string | undefined {
  const { count, commands } = picture.omitted;
  if (count === 0) return undefined;
  const names = commands.map((entry) => `${entry.command} ×${entry.count}`).join(', ');
  return `${count} autre${count > 1 ? 's' : ''} processus non détaillé${count > 1 ? 's' : ''}${names ? ` : ${names}` : ''}.`;
}
