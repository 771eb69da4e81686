// Turns the class's JSON (class-view.ts on the server) into the dashboard's
// table and journal. Pure DOM building; the buttons carry data-action and
// data-student attributes that dashboard-app.ts listens to.
import type { ClassView, LabMachineView, StudentView } from './dashboard-api.ts';
import { LINK_LABELS, STATUS_LABELS, clock, dateTime, duration, mebibytes, percent } from './format.ts';

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, attributes: Record<string, string> = {}): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function button(label: string, action: string, student: StudentView, extra: Record<string, string> = {}): HTMLButtonElement {
  return element('button', label, { type: 'button', 'data-action': action, 'data-student': student.id, 'aria-label': `${label} (${student.name})`, ...extra });
}

export function renderSummary(view: ClassView): string {
  const count = (status: StudentView['status']) => view.students.filter((student) => student.status === status).length;
  const machines = view.students.filter((student) => student.machine !== null).length;
  return (
    `${view.students.length} élèves (capacité ${view.class.capacity}) · ${count('online')} en ligne, ${count('idle')} inactifs, ${count('none')} sans machine · ` +
    `machines de la classe : ${machines} ; serveur : ${view.server.sandboxes.assigned}/${view.server.maxSandboxes} machines (${view.server.driver}) · ` +
    `liens valables jusqu'au ${dateTime(view.class.expiresAt)}`
  );
}

export function renderHeader(view: ClassView, head: HTMLTableSectionElement): void {
  const row = element('tr');
  for (const title of ['Élève', 'État', 'Machine', 'CPU', 'Mémoire']) row.append(element('th', title, { scope: 'col' }));
  for (const exercise of view.exercises) row.append(element('th', exercise.id, { scope: 'col', title: exercise.title, 'data-exercise': exercise.key }));
  for (const title of ['Commandes', 'Lien', 'Actions']) row.append(element('th', title, { scope: 'col' }));
  head.replaceChildren(row);
}

export function renderStudent(view: ClassView, student: StudentView, now = new Date()): HTMLTableRowElement {
  const row = element('tr', undefined, { 'data-student-row': student.id, 'data-status': student.status });
  row.append(element('th', student.name, { scope: 'row' }));
  const status = element('td', STATUS_LABELS[student.status], { 'data-cell': 'status' });
  if (student.lastActivityAt) status.title = `Dernière activité : ${clock(student.lastActivityAt, now)}`;
  row.append(status);

  const machine = element('td', undefined, { 'data-cell': 'machine' });
  if (student.machine?.machines) {
    // A lab: one line per machine, its state and figures, its terminals to watch, its own reset.
    machine.append(`Lab · ${duration(student.machine.ageSeconds)}`);
    for (const lab of student.machine.machines) machine.append(renderLabMachine(student, lab));
  } else if (student.machine) {
    machine.append(`${duration(student.machine.ageSeconds)}`);
    const terminals = student.machine.terminals;
    if (terminals.length > 0) machine.append(element('br'));
    for (const terminal of terminals) {
      machine.append(
        button(`Voir T${terminal.name}`, 'view', student, {
          'data-terminal': terminal.name,
          title: terminal.attached ? "Terminal affiché chez l'élève" : 'Terminal ouvert, pas affiché en ce moment',
        }),
      );
    }
  } else {
    machine.textContent = '—';
  }
  row.append(machine);
  row.append(element('td', percent(student.machine?.cpuPercent ?? null), { 'data-cell': 'cpu' }));
  row.append(element('td', mebibytes(student.machine?.memoryBytes ?? null), { 'data-cell': 'memory' }));

  for (const exercise of view.exercises) {
    const passedAt = student.exercises[exercise.key] ?? null;
    row.append(
      element('td', passedAt ? '✓' : '·', {
        'data-cell': `exercise-${exercise.id}`,
        'data-passed': String(passedAt !== null),
        title: passedAt ? `${exercise.title} — réussi à ${clock(passedAt, now)}` : `${exercise.title} — pas encore`,
      }),
    );
  }
  const commands = element('td', `${student.commands.ran}`, {
    'data-cell': 'commands',
    title: `${student.commands.snippets} extraits lancés, ${student.commands.failed} commandes en échec`,
  });
  if (student.commands.failed > 0) commands.append(` (${student.commands.failed} ✗)`);
  row.append(commands);
  row.append(
    element('td', LINK_LABELS[student.link.state], {
      'data-cell': 'link',
      title: student.link.lastUsedAt ? `Utilisé pour la dernière fois à ${clock(student.link.lastUsedAt, now)}` : 'Jamais utilisé',
    }),
  );

  const actions = element('td', undefined, { 'data-cell': 'actions' });
  if (student.machine) {
    const lab = student.machine.machines !== undefined;
    actions.append(button(lab ? 'Réinitialiser le lab' : 'Réinitialiser', 'reset', student), button('Détruire', 'destroy', student));
  }
  actions.append(button('Nouveau lien', 'link', student));
  if (student.link.state === 'active') actions.append(button('Révoquer', 'revoke', student));
  row.append(actions);
  return row;
}

/** One machine of a student's lab: « node2 · 192.168.4.12 · 3 % · 42 Mio », « Voir node2 · 1 », « Réinitialiser node2 ». */
function renderLabMachine(student: StudentView, lab: LabMachineView): HTMLElement {
  const line = element('div', undefined, { 'data-machine': lab.name, 'data-state': lab.state });
  const figures = lab.state === 'resetting' ? 'réinitialisation…' : `${percent(lab.cpuPercent)} · ${mebibytes(lab.memoryBytes)}`;
  line.append(element('strong', lab.name), ` · ${lab.address} · ${figures} `);
  for (const terminal of lab.terminals) {
    line.append(
      button(`Voir ${lab.name} · ${terminal.name}`, 'view', student, {
        'data-terminal': terminal.name,
        'data-machine': lab.name,
        title: terminal.attached ? "Terminal affiché chez l'élève" : 'Terminal ouvert, pas affiché en ce moment',
      }),
    );
  }
  if (lab.state === 'running') line.append(button(`Réinitialiser ${lab.name}`, 'reset-machine', student, { 'data-machine': lab.name }));
  return line;
}

export function renderEvents(view: ClassView, list: HTMLElement, now = new Date()): void {
  if (view.events.length === 0) {
    list.replaceChildren(element('li', 'Rien à signaler.'));
    return;
  }
  list.replaceChildren(...view.events.map((event) => element('li', `${clock(event.at, now)} — ${event.message}`, { 'data-kind': event.kind })));
}
