// <lesson-terminal name="1">: one terminal of the reader's machine on the
// page. It wires xterm.js (DOM renderer, fit and web-links addons) to a
// TerminalSession (the WebSocket), feeds the OSC 133 marks of the output to a
// RunQueue (so Exécuter can type a snippet line by line), and gives the
// reader a status line, copy/paste keys and, on touch screens, a row of keys
// phones lack. This module is only loaded on first use: it carries xterm.
// Its styles come with terminal-styles.ts, which the app awaits first.
import { FitAddon } from '@xterm/addon-fit';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { Terminal, type ITheme } from '@xterm/xterm';
import { writeClipboard } from '../components/copy-client.ts';
import type { ReadyMessage } from '../../contracts/protocol.ts';
import type { TerminalSize } from '../../contracts/sizes.ts';
import { Osc133Parser, type Osc133Mark } from '../../contracts/osc133.ts';
import { RunQueue, phaseAfterReplay, type RunListener, type RunOutcome } from './run-queue.ts';
import { sessionStatusText } from './status-text.ts';
import { ScreenKeysRow } from './screen-keys-row.ts';
import { keyAction, LEAVE_KEY } from './terminal-keys.ts';
import { TerminalSession, type SessionState, type StateDetail } from './terminal-session.ts';

Terminal.strings.promptLabel = 'Saisie du terminal';
Terminal.strings.tooMuchOutput = 'Trop de texte à lire : la lecture de la sortie est suspendue.';

/** GitHub's dark palette: the terminal stays dark in both page themes, like a real one. */
const THEME: ITheme = {
  background: '#0d1117',
  foreground: '#e6edf3',
  cursor: '#e6edf3',
  selectionBackground: '#264f78',
  black: '#484f58', red: '#ff7b72', green: '#3fb950', yellow: '#d29922',
  blue: '#58a6ff', magenta: '#bc8cff', cyan: '#39c5cf', white: '#b1bac4',
  brightBlack: '#6e7681', brightRed: '#ffa198', brightGreen: '#56d364', brightYellow: '#e3b341',
  brightBlue: '#79c0ff', brightMagenta: '#d2a8ff', brightCyan: '#56d4dd', brightWhite: '#ffffff',
};

/** Why a run stops, by the state the connection went into. */
const STOP_REASONS: Partial<Record<SessionState, string>> = {
  reconnecting: 'La connexion au terminal a été perdue pendant l\'exécution : cliquez à nouveau sur Exécuter une fois reconnecté.',
  'machine-gone': 'Votre machine a été arrêtée pendant l\'exécution.',
  exited: 'Le shell du terminal s\'est terminé.',
  'taken-over': 'Ce terminal a été ouvert dans une autre fenêtre.',
  failed: 'Le terminal a refusé la connexion.',
  closed: 'Le terminal a été fermé.',
};

export interface TerminalConnection {
  /** The WebSocket URL of this terminal at `size`, with the current machine's credentials. */
  url(name: string, size: TerminalSize): string;
}

/** A connection attempt did not end connected: `state` says how it ended. */
export class TerminalConnectError extends Error {
  override name = 'TerminalConnectError';
  readonly state: SessionState;
  readonly detail: StateDetail;
  constructor(state: SessionState, detail: StateDetail) {
    super(`Le terminal ne s'est pas connecté (${sessionStatusText(state, detail)}).`);
    this.state = state;
    this.detail = detail;
  }
}

export interface TerminalStateEventDetail {
  name: string;
  state: SessionState;
  detail: StateDetail;
}

export class LessonTerminal extends HTMLElement {
  static readonly tag = 'lesson-terminal';

  private term: Terminal | undefined;
  private fit: FitAddon | undefined;
  private session: TerminalSession | undefined;
  private connection: TerminalConnection | undefined;
  private readonly parser = new Osc133Parser();
  private readonly queue = new RunQueue({ type: (text) => this.session?.input(text) });
  private resizeObserver: ResizeObserver | undefined;
  private statusLine: HTMLElement | undefined;
  private actionButton: HTMLButtonElement | undefined;
  private screen: HTMLElement | undefined;
  private keys: ScreenKeysRow | undefined;
  private replay: { left: number; total: number; marks: Osc133Mark[] } | undefined;
  private hasOutput = false;

  get name(): string {
    return this.getAttribute('name') ?? '1';
  }

  /** The current state of the connection ('idle' before open()). */
  get state(): SessionState {
    return this.session?.state ?? 'idle';
  }

  connectedCallback(): void {
    // Moved elsewhere in the page: refit to the new box.
    if (this.term !== undefined) {
      this.fitToScreen();
      return;
    }
    this.build();
  }

  /**
   * Connects to this terminal on the current machine. `fresh` (a new
   * machine) clears the screen: the old shell is gone.
   */
  open(connection: TerminalConnection, fresh: boolean): void {
    this.connection = connection;
    if (fresh) {
      this.queue.stop('Nouvelle machine.');
      this.queue.resync('starting');
      this.term?.reset();
      this.hasOutput = false;
    }
    this.session?.close();
    const term = this.requireTerm();
    this.session = new TerminalSession({
      url: (size) => this.requireConnection().url(this.name, size),
      size: { cols: term.cols, rows: term.rows },
      events: {
        state: (state, detail) => this.onState(state, detail),
        ready: (message) => this.onReady(message),
        output: (bytes, replay, written) => this.onOutput(bytes, replay, written),
        error: (error) => {
          if (error.code === 'invalid-size' || error.code === 'bad-message') console.warn(`[terminal ${this.name}]`, error.message);
        },
      },
    });
    this.session.connect();
  }

  /** Reconnects now if the connection is down for a reason a new attempt can fix. */
  reconnect(): void {
    const state = this.session?.state;
    if (this.session !== undefined && state !== 'connected' && state !== 'connecting' && state !== 'machine-gone') {
      this.session.connect();
    }
  }

  /**
   * Resolves once connected, trying at once if the connection is down;
   * rejects with TerminalConnectError if that attempt fails.
   */
  whenConnected(): Promise<void> {
    const session = this.session;
    if (session === undefined) return Promise.reject(new TerminalConnectError('closed', {}));
    if (session.state === 'connected') return Promise.resolve();
    if (session.state === 'machine-gone') return Promise.reject(new TerminalConnectError('machine-gone', {}));
    if (session.state !== 'connecting') session.connect();
    return new Promise((resolve, reject) => {
      const listener = (event: Event) => {
        const { state, detail } = (event as CustomEvent<TerminalStateEventDetail>).detail;
        if (state === 'connecting') return;
        this.removeEventListener('lesson-terminal-state', listener);
        if (state === 'connected') resolve();
        else reject(new TerminalConnectError(state, detail));
      };
      this.addEventListener('lesson-terminal-state', listener);
    });
  }

  /** Types `commands` one by one (see RunQueue); call whenConnected() first. */
  run(commands: readonly string[], listener: RunListener): Promise<RunOutcome> {
    return this.queue.run(commands, listener);
  }

  setScreenReaderMode(on: boolean): void {
    if (this.term !== undefined) this.term.options.screenReaderMode = on;
  }

  focusTerminal(): void {
    this.term?.focus();
  }

  /** Closes the connection for good (the shell stays on the server until the machine goes). */
  close(): void {
    this.queue.stop('Le terminal a été fermé.');
    this.session?.close();
    this.session = undefined;
  }

  private build(): void {
    this.classList.add('lesson-terminal');
    const head = document.createElement('div');
    head.className = 'lt-head';
    const title = document.createElement('span');
    title.className = 'lt-title';
    title.textContent = `Terminal ${this.name}`;
    const status = document.createElement('span');
    status.className = 'lt-status';
    status.setAttribute('role', 'status');
    status.dataset.terminalStatus = '';
    status.textContent = sessionStatusText('idle', {});
    const action = document.createElement('button');
    action.type = 'button';
    action.className = 'lt-action';
    action.hidden = true;
    action.addEventListener('click', () => this.reconnect());
    head.append(title, status, action);

    const screen = document.createElement('div');
    screen.className = 'lt-screen';
    screen.setAttribute('aria-label', `Terminal ${this.name}`);

    this.keys = new ScreenKeysRow(this.name, {
      send: (bytes) => this.send(bytes),
      applicationCursor: () => this.term?.modes.applicationCursorKeysMode ?? false,
      focus: () => this.term?.focus(),
    });
    this.append(head, screen, this.keys.element);
    this.statusLine = status;
    this.actionButton = action;
    this.screen = screen;

    const term = new Terminal({
      fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace",
      fontSize: 14,
      lineHeight: 1.15,
      cursorBlink: true,
      scrollback: 5000,
      theme: THEME,
      screenReaderMode: false,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.loadAddon(new WebLinksAddon());
    term.open(screen);
    // Several terminals on one page: say which one the keyboard is in.
    term.textarea?.setAttribute('aria-label', `Saisie du terminal ${this.name}`);
    term.attachCustomKeyEventHandler((event) => this.onKey(event));
    term.onData((data) => this.onInput(data));
    term.onBinary((data) => this.session?.input(Uint8Array.from(data, (char) => char.charCodeAt(0) & 0xff)));
    term.onResize(({ cols, rows }) => this.session?.resize(cols, rows));
    this.term = term;
    this.fit = fit;
    this.fitToScreen();
    this.resizeObserver = new ResizeObserver(() => this.fitToScreen());
    this.resizeObserver.observe(screen);
    // Back online, or back to this tab: no need to wait for the next backoff step.
    window.addEventListener('online', () => this.retryNow());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.retryNow();
    });
  }

  private retryNow(): void {
    if (this.session?.state === 'reconnecting') this.session.connect();
  }

  private onInput(data: string): void {
    this.send(this.keys?.transform(data) ?? data);
  }

  private send(input: string): void {
    this.queue.readerTyped();
    this.session?.input(input);
  }

  private onKey(event: KeyboardEvent): boolean {
    const action = keyAction(event, this.term?.hasSelection() ?? false);
    switch (action) {
      case undefined:
        return true;
      case 'copy':
        event.preventDefault();
        void writeClipboard(this.term?.getSelection() ?? '').catch(() => undefined);
        return false;
      case 'paste':
        // Not prevented: the browser's paste event brings the text to xterm, which sends it.
        return false;
      case 'leave':
        event.preventDefault();
        this.dispatchEvent(new CustomEvent('lesson-terminal-leave', { bubbles: true, detail: { name: this.name, key: LEAVE_KEY } }));
        return false;
    }
  }

  /** Fits the terminal to its box; a hidden or folded box (0×0) is ignored, never sent as a size. */
  private fitToScreen(): void {
    const screen = this.screen;
    if (screen === undefined || screen.clientWidth === 0 || screen.clientHeight === 0) return;
    const dimensions = this.fit?.proposeDimensions();
    if (dimensions === undefined || !Number.isFinite(dimensions.cols) || !Number.isFinite(dimensions.rows)) return;
    this.fit?.fit();
  }

  private onState(state: SessionState, detail: StateDetail): void {
    const stopReason = STOP_REASONS[state];
    if (stopReason !== undefined && this.queue.busy) this.queue.stop(stopReason);
    if (this.statusLine !== undefined) this.statusLine.textContent = sessionStatusText(state, detail);
    this.dataset.state = state;
    const action = this.actionButton;
    if (action !== undefined) {
      const label = state === 'reconnecting' ? 'Reconnecter maintenant' : state === 'taken-over' ? 'Reprendre ici' : state === 'failed' ? 'Réessayer' : undefined;
      action.hidden = label === undefined;
      if (label !== undefined) action.textContent = label;
    }
    this.dispatchEvent(new CustomEvent<TerminalStateEventDetail>('lesson-terminal-state', { bubbles: true, detail: { name: this.name, state, detail } }));
  }

  private onReady(message: ReadyMessage): void {
    const term = this.requireTerm();
    this.parser.reset();
    if (message.resumed) {
      // The replay redraws what this shell showed recently; what we show is older or the same.
      term.reset();
    } else if (this.hasOutput) {
      term.write('\r\n\x1b[2m— nouveau shell —\x1b[0m\r\n');
    }
    this.replay = { left: message.replayBytes, total: message.replayBytes, marks: [] };
    if (message.replayBytes === 0) this.endReplay();
  }

  private onOutput(bytes: Uint8Array, replay: boolean, written: () => void): void {
    this.hasOutput = true;
    this.requireTerm().write(bytes, written);
    const marks = this.parser.push(bytes);
    const replaying = this.replay;
    if (replay && replaying !== undefined) {
      replaying.marks.push(...marks);
      replaying.left -= bytes.length;
      if (replaying.left <= 0) this.endReplay();
      return;
    }
    for (const mark of marks) this.queue.mark(mark);
  }

  private endReplay(): void {
    const replaying = this.replay;
    if (replaying === undefined) return;
    this.replay = undefined;
    this.queue.resync(phaseAfterReplay(replaying.marks, replaying.total));
  }

  private requireTerm(): Terminal {
    if (this.term === undefined) this.build();
    return this.term!;
  }

  private requireConnection(): TerminalConnection {
    if (this.connection === undefined) throw new Error(`terminal ${this.name} has no machine`);
    return this.connection;
  }
}

export function defineLessonTerminal(): void {
  if (customElements.get(LessonTerminal.tag) === undefined) customElements.define(LessonTerminal.tag, LessonTerminal);
}
