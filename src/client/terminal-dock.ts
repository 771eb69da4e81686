// The terminal area: a panel fixed at the bottom of the window, so the
// terminals stay in view while the reader scrolls through the lesson, with
// every open terminal side by side (the mount exercise compares terminal 1
// and terminal 2). Its bar shows the machine's state and holds the machine
// actions: new terminal, reset, screen-reader mode, fold.
import { LessonTerminal, defineLessonTerminal } from './lesson-terminal.ts';

export interface DockActions {
  newTerminal(): void;
  reset(): void;
  /** « Vue des namespaces »: open (true) or close the panel beside the terminals. */
  namespaces(open: boolean): void;
}

const SCREEN_READER_KEY = 'course-terminal-screen-reader';

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
  /** Beside the terminals: the namespace view, when open. */
  private readonly side: HTMLElement;
  private screenReader = readScreenReaderPreference();

  constructor(actions: DockActions) {
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
    button('Nouveau terminal', () => actions.newTerminal());
    this.namespacesButton = button('Vue des namespaces', () => actions.namespaces(this.namespacesButton.getAttribute('aria-pressed') !== 'true'));
    this.namespacesButton.setAttribute('aria-pressed', 'false');
    this.namespacesButton.title = 'Les processus de la machine, groupés par namespace, en direct';
    button('Réinitialiser la machine', () => actions.reset()).classList.add('terminal-dock-danger');
    this.screenReaderButton = button("Lecteur d'écran", () => this.setScreenReader(!this.screenReader));
    this.screenReaderButton.setAttribute('aria-pressed', String(this.screenReader));
    this.screenReaderButton.title = "Mode lecteur d'écran : la sortie du terminal est lue au fur et à mesure.";
    this.foldButton = button('Réduire', () => this.setFolded(!dock.classList.contains('is-folded')));
    this.foldButton.setAttribute('aria-expanded', 'true');

    const help = document.createElement('p');
    help.className = 'terminal-dock-help visually-hidden';
    help.textContent = 'Dans un terminal, F6 ramène le focus sur ces boutons. Copier : Ctrl+Maj+C ; coller : Ctrl+Maj+V.';

    bar.append(title, this.machineStatus, tools, help);
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
    new ResizeObserver(() => {
      const height = dock.hidden ? 0 : dock.getBoundingClientRect().height;
      document.documentElement.style.setProperty('--terminal-dock-height', `${Math.ceil(height)}px`);
    }).observe(dock);
  }

  get open(): boolean {
    return !this.element.hidden;
  }

  /** Names of the terminals shown, in order. */
  get names(): string[] {
    return this.terminals().map((terminal) => terminal.name);
  }

  terminals(): LessonTerminal[] {
    return [...this.panes.querySelectorAll<LessonTerminal>(LessonTerminal.tag)];
  }

  terminal(name: string): LessonTerminal | undefined {
    return this.terminals().find((terminal) => terminal.name === name);
  }

  /** The terminal `name`, added (in numeric order) if it is not shown yet. */
  addTerminal(name: string): LessonTerminal {
    this.show();
    const existing = this.terminal(name);
    if (existing !== undefined) return existing;
    const terminal = document.createElement(LessonTerminal.tag) as LessonTerminal;
    terminal.setAttribute('name', name);
    const after = this.terminals().find((other) => compareNames(other.name, name) > 0);
    this.panes.insertBefore(terminal, after ?? null);
    this.panes.dataset.count = String(this.terminals().length);
    terminal.setScreenReaderMode(this.screenReader);
    return terminal;
  }

  /** The smallest terminal number not shown yet. */
  nextName(): string {
    const taken = new Set(this.names);
    let number = 1;
    while (taken.has(String(number))) number++;
    return String(number);
  }

  show(): void {
    this.element.hidden = false;
    this.setFolded(false);
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
