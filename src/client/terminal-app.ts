// What happens behind the lesson's Exécuter buttons, once the reader first
// asks for a terminal (this module and xterm are loaded then, not before):
// get the reader's machine (machine-source.ts: the sandbox server, or a
// machine in this tab when no server answers), show its terminals
// (terminal-dock.ts) and type a snippet into one of them (lesson-terminal.ts).
import { RunStoppedError, RunTimeoutError } from './run-queue.ts';
import { SandboxClient } from './sandbox-client.ts';
import { SandboxServerMissingError, describeFailure } from './sandbox-errors.ts';
import { sandboxEndpoint } from './sandbox-endpoint.ts';
import { parseTerminalKey, sessionStore, type RememberedSandbox } from './sandbox-memory.ts';
import { TerminalConnectError, type LessonTerminal, type TerminalStateEventDetail } from './lesson-terminal.ts';
import { browserMachines, serverMachines, type MachineSource } from './machine-source.ts';
import type { BrowserMachineOffer } from './browser-machine/browser-machine-offer.ts';
import { NoMachineChosenError, acceptedInThisTab, type MachineMode } from './browser-machine/machine-choice.ts';
import { siteMachine } from './browser-machine/site-machine.ts';
import { TerminalDock } from './terminal-dock.ts';
import { loadTerminalStyles } from './terminal-styles.ts';

import { SNIPPET_RUN_EVENT, type SnippetRunDetail } from './classroom/class-credential.ts';
import type { NamespacePanel } from './namespace-view/namespace-panel.ts';

/** The reader opened the namespace view: reopen it next time (on screens wide enough for it beside the terminals). */
const NAMESPACES_KEY = 'course-namespace-view';
const WIDE_ENOUGH = '(min-width: 48rem)';

export type SnippetState = 'starting' | 'running' | 'done' | 'stopped' | 'error' | 'offer';

/** A button shown with a report (« Démarrer une machine dans votre navigateur »). */
export interface ReportAction {
  label: string;
  run(): void;
}

export type Report = (state: SnippetState, message: string, hint?: string, action?: ReportAction) => void;

export interface TerminalAppOptions {
  /** The sandbox server's URL as the build wrote it (a path on this origin, or another origin). */
  server: string;
  /** `auto`: the server, or a browser machine when none answers; `browser`: only a browser machine; `server`: only the server. Default: the build's COURSE_MACHINE. */
  machine?: MachineMode;
  /** Base path of the site, under which the browser machine's files are. Default: the build's. */
  basePath?: string;
  /** The page's lab (its front matter's `machines:`): these machines, kept from page to page of the chapter. Absent: one machine. */
  lab?: readonly string[] | undefined;
}

/** A snippet being run, as the page's controls see it. */
export interface SnippetRun {
  /** The snippet's position in the page ("0", "1"…), for the class's progress. */
  id?: string;
  terminal: string;
  /** The lab machine the block names (its data-machine); the lab's first machine when it names none of them. */
  machine?: string | undefined;
  commands: readonly string[];
  report: Report;
  /** Highlights the command being typed, or marks it done. */
  commandState(index: number, state: 'running' | 'done' | 'failed'): void;
  /** Scrolls the snippet into view above the terminal area, once that is open. */
  reveal?(): void;
}

export class TerminalApp {
  private readonly sandbox: SandboxClient;
  /** Where machines come from now; undefined until the reader accepts a browser machine (machine: 'browser'). */
  private source: MachineSource | undefined;
  /** The browser machine's offer: its code is fetched only when it is offered or was accepted (machine-choice.ts). */
  private offer: Promise<BrowserMachineOffer> | undefined;
  private readonly machineMode: MachineMode;
  private readonly basePath: string;
  private readonly dock: TerminalDock;
  /** The machine the terminals are connected to. */
  private attachedTo: RememberedSandbox | undefined;
  /** The bar says the connection was lost; the next successful connection says it is back. */
  private connectionLost = false;
  /** Terminals are shown only once their styles apply (xterm measures its cells). */
  private readonly styles = loadTerminalStyles();
  /** « Vue des namespaces »: its own chunk, loaded when first opened. */
  private namespacePanel: Promise<NamespacePanel> | undefined;
  private namespacesOpen = false;
  /** In a lab: the machine the namespace view shows (undefined: the lab's first). */
  private namespaceMachine: string | undefined;

  constructor(options: TerminalAppOptions) {
    this.sandbox = new SandboxClient({ endpoint: sandboxEndpoint(options.server, location.href), store: sessionStore(), machines: options.lab });
    const { machine = siteMachine().machine, basePath = siteMachine().basePath } = options;
    this.source = machine === 'browser' ? undefined : serverMachines(this.sandbox);
    this.machineMode = machine;
    this.basePath = basePath;
    this.dock = new TerminalDock({
      newTerminal: (machine) => void this.openTerminal(this.dock.nextName(machine), undefined, machine),
      reset: () => void this.resetMachine(),
      resetMachine: (machine) => void this.resetOneMachine(machine),
      namespaces: (open) => void this.setNamespacesOpen(open),
    });
    this.dock.setLab(this.lab);
    this.dock.element.addEventListener('lesson-terminal-state', (event) => {
      this.onTerminalState((event as CustomEvent<TerminalStateEventDetail>).detail);
    });
  }

  /** The page's lab, when its machines come from the server (a browser machine is one machine). */
  private get lab(): readonly string[] | undefined {
    return this.source?.lab;
  }

  /** The lab machine a block runs on: the one it names, else the lab's first; undefined without a lab. */
  private labMachine(named: string | undefined): string | undefined {
    const lab = this.lab;
    if (lab === undefined) return undefined;
    return named !== undefined && lab.includes(named) ? named : lab[0];
  }

  /** Runs a snippet: machine first (created on first use), then its terminal, then its commands. */
  async runSnippet(run: SnippetRun): Promise<void> {
    let terminal: LessonTerminal;
    const machine = this.labMachine(run.machine);
    const where = terminalWords(run.terminal, machine);
    try {
      terminal = await this.terminalFor(run.terminal, (message) => run.report('starting', message), machine);
    } catch (error) {
      if (await this.offerBrowserMachine(error, run.report, () => void this.runSnippet(run))) return;
      const failure = describeFailure(error);
      run.report('error', failure.message, failure.hint);
      run.reveal?.();
      return;
    }
    run.reveal?.();
    const total = run.commands.length;
    run.report('running', `Exécution dans ${where}…`);
    try {
      const outcome = await terminal.run(run.commands, {
        interrupted: () => run.report('running', `Une commande tournait encore dans ${where} : Ctrl-C envoyé pour l'arrêter.`),
        commandStarted: (index, command) => {
          run.commandState(index, 'running');
          run.report(
            'running',
            `${machine === undefined ? `Terminal ${run.terminal}` : `${machine} · ${run.terminal}`}, commande ${index + 1}/${total} : ${command}`,
          );
        },
        commandFinished: (index, status) => run.commandState(index, status === undefined || status === 0 ? 'done' : 'failed'),
      });
      if (run.id !== undefined) {
        const detail: SnippetRunDetail = {
          snippet: run.id,
          terminal: run.terminal,
          commands: run.commands,
          statuses: outcome.statuses.map((status) => status ?? null),
        };
        document.dispatchEvent(new CustomEvent(SNIPPET_RUN_EVENT, { detail }));
      }
      const failed = outcome.statuses.filter((status) => status !== undefined && status !== 0).length;
      const parts = [`Terminé dans ${where}.`];
      if (outcome.interrupted) parts.push("Une commande en cours a d'abord été arrêtée (Ctrl-C).");
      if (failed > 0) parts.push(failed === 1 ? 'Une commande a échoué : voyez sa sortie.' : `${failed} commandes ont échoué : voyez leur sortie.`);
      const remark = this.source?.remark?.(run.commands);
      if (remark !== undefined) parts.push(remark);
      run.report('done', parts.join(' '));
    } catch (error) {
      if (error instanceof RunStoppedError) {
        run.report('stopped', error.message === 'replaced by a newer run' ? 'Interrompu par une autre exécution dans ce terminal.' : error.message);
      } else if (error instanceof RunTimeoutError) {
        run.report('error', error.message);
      } else {
        const failure = describeFailure(error);
        run.report('error', failure.message, failure.hint);
      }
    }
  }

  /** Shows terminal `name` (« Ouvrir un nouveau terminal »), of lab machine `machine` if given, starting the machine if needed. */
  async openTerminal(name: string, report?: Report, machine?: string): Promise<void> {
    const labMachine = this.labMachine(machine);
    try {
      const terminal = await this.terminalFor(name, (message) => report?.('starting', message), labMachine);
      report?.('done', labMachine === undefined ? `Terminal ${name} ouvert.` : `Terminal ${name} de ${labMachine} ouvert.`);
      terminal.focusTerminal();
    } catch (error) {
      if (report !== undefined && (await this.offerBrowserMachine(error, report, () => void this.openTerminal(name, report, machine)))) return;
      const failure = describeFailure(error);
      if (report !== undefined) report('error', failure.message, failure.hint);
      else this.showMachineError(failure.message, failure.hint);
    }
  }

  /**
   * Builds terminal `name` (of lab machine `machine`) ahead, unseen, while
   * the page is idle: the first « Exécuter » then only shows it. Nothing is
   * asked of the server; nothing changes on the page.
   */
  async prepare(name: string, machine?: string): Promise<void> {
    await this.styles;
    if (!this.dock.open) this.dock.prepareTerminal(name, this.labMachine(machine));
  }

  /** After a reload: reattaches the terminals that were open, if the machine still exists (never creates one). */
  async restore(): Promise<void> {
    const source = this.source;
    const names = source?.current?.terminals ?? [];
    if (source === undefined || names.length === 0) return;
    let machine: RememberedSandbox | undefined;
    try {
      machine = await source.check();
    } catch {
      return; // No server any more: the page reads fine without terminals; Exécuter will explain.
    }
    if (machine === undefined) return;
    await this.styles;
    this.attachedTo = machine;
    this.dock.setMachineStatus(this.lab === undefined ? 'Machine retrouvée : vos terminaux sont rattachés.' : 'Lab retrouvé : vos terminaux sont rattachés.');
    for (const key of names) {
      const { machine: labMachine, name } = parseTerminalKey(key);
      // A record from another page's lab cannot hold machines this lab lacks; skip any that would not connect.
      if (labMachine !== undefined && !this.lab?.includes(labMachine)) continue;
      this.dock.addTerminal(name, labMachine).open(source.connection(machine, labMachine), false);
    }
    this.rememberTerminals();
    this.reopenNamespaces();
  }

  /** Opens or closes the namespace view; closing it stops its snapshots on the server. */
  async setNamespacesOpen(open: boolean): Promise<void> {
    this.namespacesOpen = open;
    try {
      localStorage.setItem(NAMESPACES_KEY, open ? 'open' : 'closed');
    } catch {
      // Not remembered: fine.
    }
    if (!open) {
      this.dock.setSidePanel(undefined);
      (await this.namespacePanel?.catch(() => undefined))?.stop();
      return;
    }
    let panel: NamespacePanel;
    try {
      this.namespacePanel ??= import('./namespace-view/namespace-panel.ts').then(
        ({ NamespacePanel }) =>
          new NamespacePanel({
            close: () => void this.setNamespacesOpen(false),
            pick: (labMachine) => {
              this.namespaceMachine = labMachine;
              this.showNamespacesOf(this.attachedTo);
            },
          }),
      );
      panel = await this.namespacePanel;
      await panel.ready;
    } catch {
      this.namespacePanel = undefined;
      this.showMachineError("La vue des namespaces n'a pas pu être chargée.", 'Vérifiez la connexion, puis cliquez à nouveau sur « Vue des namespaces ».');
      return;
    }
    if (!this.namespacesOpen) return;
    this.dock.setSidePanel(panel.element);
    this.showNamespacesOf(this.attachedTo);
  }

  /** The panel follows the machine the terminals are on. */
  private showNamespacesOf(machine: RememberedSandbox | undefined): void {
    if (!this.namespacesOpen || machine === undefined) return;
    // The view asks the server's agent inside the machine; the browser machine has neither.
    if (this.source?.kind === 'browser') {
      this.showMachineError(
        "La vue des namespaces n'existe que pour les machines du serveur du cours.",
        'Dans la machine de votre navigateur, `sudo lsns` liste les namespaces et leurs processus.',
      );
      return;
    }
    void this.namespacePanel?.then((panel) => {
      if (!this.namespacesOpen || this.attachedTo?.id !== machine.id) return;
      const lab = this.lab;
      const chosen = lab === undefined ? undefined : (lab.find((name) => name === this.namespaceMachine) ?? lab[0]);
      panel.setMachines(lab, chosen);
      panel.show({
        id: chosen === undefined ? machine.id : `${machine.id}/${chosen}`,
        url: this.sandbox.namespacesUrl(machine, chosen),
      });
    });
  }

  /** Reopens the view if the reader left it open, when the screen has room for it (never by default on a phone). */
  private reopenNamespaces(): void {
    if (this.namespacesOpen || !window.matchMedia(WIDE_ENOUGH).matches) return;
    let remembered: string | null = null;
    try {
      remembered = localStorage.getItem(NAMESPACES_KEY);
    } catch {
      return;
    }
    if (remembered === 'open') void this.setNamespacesOpen(true);
  }

  /** « Réinitialiser la machine » (« … le lab »): a fresh machine (every machine of the lab) in every open terminal. */
  async resetMachine(): Promise<void> {
    const source = this.source;
    if (source === undefined) return;
    this.dock.setMachineStatus(this.lab === undefined ? 'Réinitialisation de la machine…' : 'Réinitialisation du lab…', 'busy');
    for (const terminal of this.dock.terminals()) terminal.close();
    let machine: RememberedSandbox;
    try {
      machine = await source.reset((message) => this.dock.setMachineStatus(message, 'busy'));
    } catch (error) {
      const failure = describeFailure(error);
      this.showMachineError(failure.message, failure.hint);
      return;
    }
    this.attachedTo = machine;
    for (const terminal of this.dock.terminals()) terminal.open(source.connection(machine, terminal.machine), true);
    this.rememberTerminals();
    this.showNamespacesOf(this.attachedTo);
    this.dock.setMachineStatus(this.lab === undefined ? 'Nouvelle machine prête.' : 'Lab neuf : toutes ses machines sont prêtes.');
  }

  /** « Réinitialiser node2 »: that machine of the lab made anew, its terminals reopened on it; the others keep running. */
  async resetOneMachine(labMachine: string): Promise<void> {
    const source = this.source;
    if (source === undefined || this.lab === undefined) return;
    this.dock.setMachineStatus(`Réinitialisation de ${labMachine}…`, 'busy');
    const terminals = this.dock.terminalsOf(labMachine);
    for (const terminal of terminals) terminal.close();
    let machine: RememberedSandbox;
    try {
      machine = await source.resetOne(labMachine);
    } catch (error) {
      const failure = describeFailure(error);
      this.showMachineError(failure.message, failure.hint);
      // Its shells may still be there (the reset was refused): show them again.
      if (this.attachedTo !== undefined) for (const terminal of terminals) terminal.open(source.connection(this.attachedTo, labMachine), false);
      return;
    }
    this.attachedTo = machine;
    for (const terminal of terminals) terminal.open(source.connection(machine, labMachine), true);
    this.dock.setMachineStatus(`${labMachine} est neuve ; les autres machines du lab n'ont pas changé.`);
  }

  private async terminalFor(name: string, starting: (message: string) => void, labMachine?: string): Promise<LessonTerminal> {
    // One more try when the machine turns out to be gone (server restarted, idle timeout): a new machine is made.
    for (let attempt = 0; ; attempt++) {
      const asked = this.machine(starting);
      // A first terminal is built while its machine is asked for (once the request is out), if the idle page has not built it yet.
      if (!this.dock.open) {
        asked.catch(() => undefined);
        await Promise.all([this.styles, nextTask()]);
        this.dock.prepareTerminal(name, labMachine);
      }
      const [machine] = await Promise.all([asked, this.styles]);
      const terminal = this.dock.addTerminal(name, labMachine);
      if (terminal.state === 'idle' || terminal.state === 'closed') {
        terminal.open(this.requireSource().connection(machine, labMachine), false);
        this.rememberTerminals();
      }
      if (terminal.state !== 'connected') starting(`Connexion ${labMachine === undefined ? `au terminal ${name}` : `à ${labMachine} · ${name}`}…`);
      try {
        await terminal.whenConnected();
        return terminal;
      } catch (error) {
        if (!(error instanceof TerminalConnectError)) throw error;
        if (error.state === 'machine-gone' && attempt === 0) continue;
        throw this.connectFailure(error);
      }
    }
  }

  /** Words for a terminal that would not connect. */
  private connectFailure(error: TerminalConnectError): Error {
    switch (error.state) {
      case 'reconnecting':
        return new SandboxServerMissingError(this.sandbox.endpoint.base, "le terminal ne peut pas s'y connecter");
      case 'machine-gone':
        return new Error("Votre machine a été arrêtée et la nouvelle n'a pas pu être jointe. Cliquez sur « Réinitialiser la machine ».");
      case 'taken-over':
        return new Error('Ce terminal est ouvert dans une autre fenêtre ou un autre onglet : fermez-le là-bas, puis réessayez ici.');
      default:
        return new Error(`Le terminal a refusé la connexion${error.detail.error ? ` : ${error.detail.error.message}` : '.'}`);
    }
  }

  /** The reader's machine; a new one (after a reset, or when the old one died) reopens every terminal. */
  private async machine(starting: (message: string) => void): Promise<RememberedSandbox> {
    // A reader who accepted a browser machine in this tab gets it again without being asked (after a reload too).
    if (this.source === undefined || this.source.kind === 'server') {
      const accepted = acceptedInThisTab(this.machineMode) ? await (await this.browserOffer().catch(() => undefined))?.acceptedBefore() : undefined;
      if (accepted !== undefined) {
        this.source = browserMachines(accepted);
        this.dock.setLab(this.lab);
      }
    }
    const source = this.source;
    if (source === undefined) throw new NoMachineChosenError();
    if (this.attachedTo === undefined || source.current?.id !== this.attachedTo.id) {
      const words = this.lab === undefined ? 'Démarrage de votre machine…' : `Démarrage de votre lab (${this.lab.join(', ')})…`;
      starting(words);
      if (this.dock.open) this.dock.setMachineStatus(words, 'busy');
    }
    const machine = await source.ensure((message) => {
      starting(message);
      if (this.dock.open) this.dock.setMachineStatus(message, 'busy');
    });
    if (this.attachedTo?.id !== machine.id) {
      const replaced = this.attachedTo !== undefined;
      this.attachedTo = machine;
      for (const terminal of this.dock.terminals()) terminal.open(source.connection(machine, terminal.machine), true);
      this.dock.setMachineStatus(this.machineStartedWords(replaced, machine));
      this.showNamespacesOf(machine);
      this.reopenNamespaces();
    }
    return machine;
  }

  private onTerminalState({ state, detail }: TerminalStateEventDetail): void {
    if (state === 'reconnecting' && detail.retryInMs !== undefined) {
      this.connectionLost = true;
      this.dock.setMachineStatus('Connexion au serveur perdue : reconnexion…', 'busy');
      return;
    }
    if (state === 'connected' && this.connectionLost) {
      this.connectionLost = false;
      this.dock.setMachineStatus('Connexion rétablie.');
      return;
    }
    if (state !== 'machine-gone' || this.attachedTo === undefined) return;
    if (this.source?.current?.id === this.attachedTo.id) this.source.drop();
    // The server's words say why and what to do (« Réinitialiser la machine »…); without them, the general case.
    const error = detail.error;
    this.dock.setMachineStatus(
      error?.message ? `${error.message}${error.hint ? ` ${error.hint}` : ''}` : 'Votre machine a été arrêtée. Exécuter en démarrera une nouvelle.',
      'error',
    );
  }

  private rememberTerminals(): void {
    this.source?.rememberTerminals(this.dock.names);
  }

  private requireSource(): MachineSource {
    if (this.source === undefined) throw new NoMachineChosenError();
    return this.source;
  }

  /**
   * When no machine can be had from a server (none answers, or the site is
   * built for static hosting) and this site ships a browser machine: offers
   * it, with its download size, and `retry` once the reader accepts. False
   * when there is nothing to offer (the caller reports the error).
   */
  private async offerBrowserMachine(error: unknown, report: Report, retry: () => void): Promise<boolean> {
    if (!(error instanceof SandboxServerMissingError) && !(error instanceof NoMachineChosenError)) return false;
    if (this.machineMode === 'server') return false;
    // Its code comes from where the page came from: a server that stopped cannot send it either (nothing to offer then).
    const offer = await this.browserOffer().catch(() => undefined);
    if (offer === undefined) return false;
    const offered = await offer.describe(error instanceof SandboxServerMissingError);
    if (offered === undefined) return false;
    report('offer', offered.message, offered.hint, {
      label: offered.label,
      run: () => {
        this.source = browserMachines(offer.accept());
        this.dock.setLab(this.lab);
        retry();
      },
    });
    return true;
  }

  private browserOffer(): Promise<BrowserMachineOffer> {
    this.offer ??= import('./browser-machine/browser-machine-offer.ts').then(
      ({ BrowserMachineOffer }) => new BrowserMachineOffer(this.machineMode, this.basePath, location.href),
    );
    this.offer.catch(() => {
      this.offer = undefined; // A failed download is tried again next time.
    });
    return this.offer;
  }

  private showMachineError(message: string, hint: string): void {
    this.dock.setMachineStatus(hint === '' ? message : `${message} ${hint}`, 'error');
  }

  /** « Machine démarrée. », or in a lab the machines and their addresses on its network. */
  private machineStartedWords(replaced: boolean, machine: RememberedSandbox): string {
    if (this.lab === undefined) return replaced ? 'Nouvelle machine démarrée.' : 'Machine démarrée.';
    const machines = machine.machines?.map(({ name, address }) => `${name} (${address})`).join(', ') ?? this.lab.join(', ');
    return `${replaced ? 'Nouveau lab démarré' : 'Lab démarré'} : ${machines}.`;
  }
}

/** « le terminal 1 », or « le terminal 1 de node2 » in a lab. */
function terminalWords(name: string, machine: string | undefined): string {
  return machine === undefined ? `le terminal ${name}` : `le terminal ${name} de ${machine}`;
}

/** After the tasks already queued (a request being sent): the next task. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
