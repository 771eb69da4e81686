// The terminal area: a panel fixed at the bottom of the window, so the
// terminals stay in view while the reader scrolls through the lesson, with
// every open terminal side by side (the mount exercise compares terminal 1
// and terminal 2). Its bar shows the machine's state and holds the machine
// actions: new terminal, reset, screen-reader mode, fold. On a lab page it
// lists the lab's machines, each with its open terminals (« node2 · 1 »), a
// button for a new terminal on it and one to reset it alone.
import { LessonTerminal, defineLessonTerminal } from './lesson-terminal.ts';
import { terminalKey } from './sandbox-memory.ts';

export interface DockActions {
  /** A new terminal, on machine `machine` of a lab (undefined: the reader's machine). */
  newTerminal(machine?: string): void;
  /** The whole machine, or every machine of the lab, made anew. */
  reset(): void;
  /** One machine of the lab made anew. */
  resetMachine(machine: string): void;
  /** « Vue des namespaces »: open (true) or close the panel beside the terminals. */
  namespaces(open: boolean): void;
}

const SCREEN_READER_KEY = 'course-terminal-screen-reader';
/** The attribute of a terminal built ahead and not shown yet (prepareTerminal). */
const PREPARED = 'data-prepared';

function readScreenReaderPreference(): boolean {
  try {
    return localStorage.getItem(SCREEN_READER_KEY) === 'on';
  } catch {
    return false;
  }
}

export class TerminalDock {
  readonly element: HTMLElement;
  private readonly panes: HTMLElement;
  private readonly machineStatus: HTMLElement;
  private readonly foldButton: HTMLButtonElement;
  private readonly screenReaderButton: HTMLButtonElement;
  private readonly namespacesButton: HTMLButtonElement;
  private readonly newTerminalButton: HTMLButtonElement;
  private readonly resetButton: HTMLButtonElement;
  private readonly title: HTMLElement;
  /** The lab's machines, one row each (hidden without a lab). */
  private readonly labList: HTMLElement;
  private readonly actions: DockActions;
  private lab: readonly string[] | undefined;
  /** Beside the terminals: the namespace view, when open. */
  private readonly side: HTMLElement;
  private screenReader = readScreenReaderPreference();
  /** The panel's height as last laid out (built ahead, it has one before it shows). */
  private height = 0;

  constructor(actions: DockActions) {
    this.actions = actions;
    defineLessonTerminal();
    const dock = document.createElement('section');
    dock.className = 'terminal-dock';
    dock.hidden = true;
    dock.setAttribute('aria-label', 'Terminaux de votre machine');
    dock.dataset.terminalDock = '';

    const bar = document.createElement('div');
    bar.className = 'terminal-dock-bar';
    const title = document.createElement('h2');
    title.className = 'terminal-dock-title';
    title.textContent = 'Votre machine';
    this.title = title;
    this.machineStatus = document.createElement('span');
    this.machineStatus.className = 'terminal-dock-status';
    this.machineStatus.setAttribute('role', 'status');
    this.machineStatus.dataset.machineStatus = '';

    const tools = document.createElement('div');
    tools.className = 'terminal-dock-tools';
    tools.setAttribute('role', 'toolbar');
    tools.setAttribute('aria-label', 'Actions sur la machine');
    const button = (label: string, onClick: () => void) => {
      const element = document.createElement('button');
      element.type = 'button';
      element.textContent = label;
      element.addEventListener('click', onClick);
      tools.append(element);
      return element;
    };
    this.newTerminalButton = button('Nouveau terminal', () => actions.newTerminal());
    this.namespacesButton = button('Vue des namespaces', () => actions.namespaces(this.namespacesButton.getAttribute('aria-pressed') !== 'true'));
    this.namespacesButton.setAttribute('aria-pressed', 'false');
    this.namespacesButton.title = 'Les processus de la machine, groupés par namespace, en direct';
    this.resetButton = button('Réinitialiser la machine', () => actions.reset());
    this.resetButton.classList.add('terminal-dock-danger');
    this.screenReaderButton = button("Lecteur d'écran", () => this.setScreenReader(!this.screenReader));
    this.screenReaderButton.setAttribute('aria-pressed', String(this.screenReader));
    this.screenReaderButton.title = "Mode lecteur d'écran : la sortie du terminal est lue au fur et à mesure.";
    this.foldButton = button('Réduire', () => this.setFolded(!dock.classList.contains('is-folded')));
    this.foldButton.setAttribute('aria-expanded', 'true');

    const help = document.createElement('p');
    help.className = 'terminal-dock-help visually-hidden';
    help.textContent = 'Dans un terminal, F6 ramène le focus sur ces boutons. Copier : Ctrl+Maj+C ; coller : Ctrl+Maj+V.';

    this.labList = document.createElement('ul');
    this.labList.className = 'terminal-dock-lab';
    this.labList.setAttribute('aria-label', 'Machines du lab');
    this.labList.hidden = true;

    bar.append(title, this.machineStatus, tools, this.labList, help);
    this.panes = document.createElement('div');
    this.panes.className = 'terminal-dock-panes';
    this.side = document.createElement('div');
    this.side.className = 'terminal-dock-side';
    this.side.hidden = true;
    const body = document.createElement('div');
    body.className = 'terminal-dock-body';
    body.append(this.panes, this.side);
    dock.append(bar, body);
    dock.addEventListener('lesson-terminal-leave', () => tools.querySelector('button')?.focus());
    document.body.append(dock);
    this.element = dock;

    // Keep the end of the lesson readable above the panel.
    new ResizeObserver(([entry]) => {
      this.height = Math.ceil(entry?.borderBoxSize[0]?.blockSize ?? 0);
      this.keepLessonReadable();
    }).observe(dock);
  }

  get open(): boolean {
    return !this.element.hidden;
  }

  /**
   * The end of the lesson stays readable above the panel: the page's bottom
   * padding and scroll margin follow its height (none while it is hidden).
   * Set on those two boxes alone: a custom property on :root would restyle
   * every element of the lesson each time.
   */
  private keepLessonReadable(): void {
    const height = this.element.hidden ? 0 : this.height;
    document.body.style.paddingBottom = height === 0 ? '' : `${height}px`;
    document.documentElement.style.scrollPaddingBottom = height === 0 ? '' : `calc(${height}px + 0.5rem)`;
  }

  /**
   * Builds terminal `name` (of lab machine `machine`) ahead of its use, in the
   * panel still hidden but laid out (terminal.css): xterm measures its cells
   * and draws its screen now (the page idle, or while the machine is asked
   * for), and addTerminal() only has to show it. Not a terminal of the page
   * until then: terminals() leaves it out.
   */
  prepareTerminal(name: string, machine?: string): LessonTerminal {
    if (!this.open) this.element.classList.add('is-pending');
    const terminal = this.find(name, machine) ?? this.insert(name, machine, true);
    terminal.prepareAhead();
    return terminal;
  }

  /** The terminals shown, in order, as remembered: "1", or "node2/1" in a lab. */
  get names(): string[] {
    return this.terminals().map((terminal) => terminalKey(terminal.name, terminal.machine));
  }

  terminals(): LessonTerminal[] {
    return this.allTerminals().filter((terminal) => !terminal.hasAttribute(PREPARED));
  }

  /** Shown and prepared ones. */
  private allTerminals(): LessonTerminal[] {
    return [...this.panes.querySelectorAll<LessonTerminal>(LessonTerminal.tag)];
  }

  private find(name: string, machine: string | undefined): LessonTerminal | undefined {
    return this.allTerminals().find((terminal) => terminal.name === name && terminal.machine === machine);
  }

  /** The terminals of lab machine `machine`. */
  terminalsOf(machine: string): LessonTerminal[] {
    return this.terminals().filter((terminal) => terminal.machine === machine);
  }

  terminal(name: string, machine?: string): LessonTerminal | undefined {
    return this.terminals().find((terminal) => terminal.name === name && terminal.machine === machine);
  }

  /**
   * Shows the lab's machines (undefined: one machine, the dock as it always was):
   * each with its terminals, « Nouveau terminal » and « Réinitialiser » for it alone.
   */
  setLab(machines: readonly string[] | undefined): void {
    this.lab = machines;
    const inLab = machines !== undefined;
    this.title.textContent = inLab ? 'Votre lab' : 'Votre machine';
    this.element.setAttribute('aria-label', inLab ? 'Terminaux de votre lab' : 'Terminaux de votre machine');
    this.resetButton.textContent = inLab ? 'Réinitialiser le lab' : 'Réinitialiser la machine';
    this.resetButton.title = inLab ? 'Toutes les machines du lab repartent de zéro' : '';
    // In a lab, a new terminal is opened on a chosen machine, from its row.
    this.newTerminalButton.hidden = inLab;
    this.labList.hidden = !inLab;
    if (inLab) this.panes.dataset.lab = '';
    else delete this.panes.dataset.lab;
    this.labList.replaceChildren(
      ...(machines ?? []).map((machine) => {
        const row = document.createElement('li');
        row.className = 'terminal-dock-machine';
        row.dataset.labMachine = machine;
        const name = document.createElement('span');
        name.className = 'terminal-dock-machine-name';
        name.textContent = machine;
        const open = document.createElement('span');
        open.className = 'terminal-dock-machine-terminals';
        open.dataset.machineTerminals = '';
        const add = document.createElement('button');
        add.type = 'button';
        add.textContent = '+ terminal';
        add.setAttribute('aria-label', `Nouveau terminal sur ${machine}`);
        add.addEventListener('click', () => this.actions.newTerminal(machine));
        const reset = document.createElement('button');
        reset.type = 'button';
        reset.className = 'terminal-dock-danger';
        reset.textContent = 'Réinitialiser';
        reset.setAttribute('aria-label', `Réinitialiser ${machine}`);
        reset.title = `${machine} repart de zéro ; les autres machines continuent`;
        reset.addEventListener('click', () => this.actions.resetMachine(machine));
        row.append(name, open, add, reset);
        return row;
      }),
    );
    this.showLabTerminals();
  }

  /** The terminal `name` (of lab machine `machine`), added in order (or its prepared one shown) if it is not shown yet. */
  addTerminal(name: string, machine?: string): LessonTerminal {
    this.show();
    const existing = this.find(name, machine);
    if (existing === undefined) return this.insert(name, machine, false);
    if (existing.hasAttribute(PREPARED)) {
      existing.removeAttribute(PREPARED);
      this.countTerminals();
    }
    return existing;
  }

  private insert(name: string, machine: string | undefined, prepared: boolean): LessonTerminal {
    const terminal = document.createElement(LessonTerminal.tag) as LessonTerminal;
    terminal.setAttribute('name', name);
    if (machine !== undefined) terminal.setAttribute('machine', machine);
    if (prepared) terminal.setAttribute(PREPARED, '');
    const order = (other: LessonTerminal) => this.compareTerminals(other.machine, other.name, machine, name);
    const after = this.allTerminals().find((other) => order(other) > 0);
    this.panes.insertBefore(terminal, after ?? null);
    this.countTerminals();
    terminal.setScreenReaderMode(this.screenReader);
    return terminal;
  }

  private countTerminals(): void {
    this.panes.dataset.count = String(this.terminals().length);
    this.showLabTerminals();
  }

  /** The smallest terminal number not shown yet (on lab machine `machine`). */
  nextName(machine?: string): string {
    const taken = new Set(
      this.terminals()
        .filter((terminal) => terminal.machine === machine)
        .map((terminal) => terminal.name),
    );
    let number = 1;
    while (taken.has(String(number))) number++;
    return String(number);
  }

  show(): void {
    const wasHidden = this.element.hidden;
    this.element.hidden = false;
    this.element.classList.remove('is-pending');
    this.setFolded(false);
    // Laid out while hidden (prepareTerminal): its size will not change, so the observer would not say it.
    // Two frames later: the page's layout under the panel waits for the terminal's first frame.
    if (wasHidden) requestAnimationFrame(() => requestAnimationFrame(() => this.keepLessonReadable()));
  }

  /** Shows `panel` beside the terminals (undefined: closes the side). */
  setSidePanel(panel: HTMLElement | undefined): void {
    this.side.replaceChildren(...(panel ? [panel] : []));
    this.side.hidden = panel === undefined;
    this.namespacesButton.setAttribute('aria-pressed', String(panel !== undefined));
    // The terminals' boxes changed size: xterm refits on its own (ResizeObserver).
  }

  setMachineStatus(text: string, tone: 'info' | 'busy' | 'error' = 'info'): void {
    this.machineStatus.textContent = text;
    this.machineStatus.dataset.tone = tone;
  }

  /** Lab machines in the lab's order, then terminal numbers. */
  private compareTerminals(machineA: string | undefined, nameA: string, machineB: string | undefined, nameB: string): number {
    const index = (machine: string | undefined) => (machine === undefined ? -1 : (this.lab?.indexOf(machine) ?? 0));
    return index(machineA) - index(machineB) || compareNames(nameA, nameB);
  }

  /** Each machine's row says which terminals are open on it: « node2 · 1, 2 ». */
  private showLabTerminals(): void {
    for (const row of this.labList.querySelectorAll<HTMLElement>('[data-lab-machine]')) {
      const names = this.terminalsOf(row.dataset.labMachine ?? '').map((terminal) => terminal.name);
      const open = row.querySelector<HTMLElement>('[data-machine-terminals]');
      if (open !== null) open.textContent = names.length === 0 ? 'aucun terminal' : `· ${names.join(', ')}`;
    }
  }

  private setFolded(folded: boolean): void {
    this.element.classList.toggle('is-folded', folded);
    this.foldButton.textContent = folded ? 'Afficher' : 'Réduire';
    this.foldButton.setAttribute('aria-expanded', String(!folded));
  }

  private setScreenReader(on: boolean): void {
    this.screenReader = on;
    this.screenReaderButton.setAttribute('aria-pressed', String(on));
    for (const terminal of this.terminals()) terminal.setScreenReaderMode(on);
    try {
      localStorage.setItem(SCREEN_READER_KEY, on ? 'on' : 'off');
    } catch {
      // Not remembered: fine.
    }
  }
}

function compareNames(a: string, b: string): number {
  return Number(a) - Number(b) || a.localeCompare(b);
}
