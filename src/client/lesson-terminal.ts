// <lesson-terminal name="1">: one terminal of the reader's machine on the
// page. It joins three parts: the xterm.js view (terminal-view.ts), a
// TerminalSession (the WebSocket, or a browser machine's port that speaks the
// same protocol), and a RunQueue fed with the shell's OSC 133 marks
// (shell-feed.ts), so Exécuter can type a snippet line by line. This module
// is only loaded on first use: it carries xterm. Its styles come with
// terminal-styles.ts, which the app awaits first.
import type { ReadyMessage } from '../../contracts/protocol.ts';
import type { TerminalSize } from '../../contracts/sizes.ts';
import { RunQueue, type RunListener, type RunOutcome } from './run-queue.ts';
import { ShellFeed } from './shell-feed.ts';
import { ShownAhead, type Unseen } from './shown-ahead.ts';
import { sessionStatusText } from './status-text.ts';
import { TerminalSession, type SessionState, type SocketFactory, type StateDetail } from './terminal-session.ts';
import { TerminalView } from './terminal-view.ts';

/** Keystrokes kept at most while a prompt shown ahead waits for its socket (a few are typed in that time). */
const MAX_TYPED_AHEAD = 256;

/** Why a run stops, by the state the connection went into. */
const STOP_REASONS: Partial<Record<SessionState, string>> = {
  reconnecting: "La connexion au terminal a été perdue pendant l'exécution : cliquez à nouveau sur Exécuter une fois reconnecté.",
  'machine-gone': "Votre machine a été arrêtée pendant l'exécution.",
  exited: "Le shell du terminal s'est terminé.",
  'taken-over': 'Ce terminal a été ouvert dans une autre fenêtre.',
  failed: 'Le terminal a refusé la connexion.',
  closed: 'Le terminal a été fermé.',
};

/** The label of the head's action button in each state (none in the others). */
const ACTIONS: Partial<Record<SessionState, string>> = {
  reconnecting: 'Reconnecter maintenant',
  'taken-over': 'Reprendre ici',
  failed: 'Réessayer',
};

export interface TerminalConnection {
  /** The WebSocket URL of this terminal at `size`, with the current machine's credentials. */
  url(name: string, size: TerminalSize): string;
  /** What opens that URL; default: the browser's WebSocket (a browser machine gives its own). */
  socket?: SocketFactory;
  /** What terminal `name`'s shell printed before the page asked (its prompt), known before its socket opens; once. */
  started?(name: string): Uint8Array | undefined;
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
  /** The lab machine of the terminal, if any. */
  machine?: string | undefined;
  state: SessionState;
  detail: StateDetail;
}

export class LessonTerminal extends HTMLElement {
  static readonly tag = 'lesson-terminal';

  private view: TerminalView | undefined;
  private session: TerminalSession | undefined;
  private connection: TerminalConnection | undefined;
  private readonly queue = new RunQueue({ type: (text) => this.session?.input(text) });
  private readonly feed = new ShellFeed(this.queue);
  /** Aborted when the element leaves the page: removes its window and document listeners. */
  private pageListeners: AbortController | undefined;
  private hasOutput = false;
  /** Its screen holds the glyphs drawn ahead (prepareAhead), to clear before real output. */
  private glyphsDrawn = false;
  /** Shown before the socket opened (connection.started): the replay's first bytes, not written twice. */
  private shownAhead: ShownAhead | undefined;
  /** What the reader typed at that prompt before the socket was there: sent once it is (dropped if it never comes). */
  private typedAhead: (string | Uint8Array)[] | undefined;

  get name(): string {
    return this.getAttribute('name') ?? '1';
  }

  /** The lab machine this terminal is on (undefined: the reader's one machine). */
  get machine(): string | undefined {
    return this.getAttribute('machine') ?? undefined;
  }

  /** How the page names it: "1", or « node2 · 1 » in a lab. */
  get label(): string {
    return this.machine === undefined ? this.name : `${this.machine} · ${this.name}`;
  }

  /** The current state of the connection ('idle' before open()). */
  get state(): SessionState {
    return this.session?.state ?? 'idle';
  }

  connectedCallback(): void {
    if (this.view === undefined) this.build();
    // Put (back) in the page: follow its box, and listen for the network and the tab coming back.
    else this.view.observe();
    this.listenToPage();
  }

  disconnectedCallback(): void {
    this.pageListeners?.abort();
    this.pageListeners = undefined;
    this.view?.unobserve();
  }

  /**
   * Connects to this terminal on the current machine. `fresh` (a new
   * machine) clears the screen: the old shell is gone.
   */
  open(connection: TerminalConnection, fresh: boolean): void {
    this.connection = connection;
    const view = this.requireView();
    if (this.glyphsDrawn) {
      this.glyphsDrawn = false;
      view.term.reset();
    }
    if (fresh) {
      this.queue.stop('Nouvelle machine.');
      this.queue.resync('starting');
      view.term.reset();
      this.hasOutput = false;
    }
    this.shownAhead = undefined;
    this.typedAhead = undefined;
    this.session?.close();
    this.session = new TerminalSession({
      url: (size) => this.requireConnection().url(this.name, size),
      size: { cols: view.term.cols, rows: view.term.rows },
      ...(connection.socket === undefined ? {} : { socket: connection.socket }),
      events: {
        state: (state, detail) => this.onState(state, detail),
        ready: (message) => this.onReady(message),
        output: (bytes, replay, written) => this.onOutput(bytes, replay, written),
        error: (error) => {
          if (error.code === 'invalid-size' || error.code === 'bad-message') console.warn(`[terminal ${this.label}]`, error.message);
        },
      },
    });
    // The warm pool's shell printed its prompt long ago: show it now, while the socket opens.
    const ahead = connection.started?.(this.name);
    if (ahead !== undefined && ahead.length > 0 && !this.hasOutput) {
      this.shownAhead = new ShownAhead(ahead);
      this.typedAhead = [];
      view.term.write(ahead);
    }
    this.session.connect();
  }

  /** Built ahead, unseen (TerminalDock.prepareTerminal): xterm measures the glyphs the first prompt needs now, not then. */
  prepareAhead(): void {
    if (this.session !== undefined || this.hasOutput || this.glyphsDrawn) return;
    this.glyphsDrawn = true;
    this.requireView().drawEveryGlyph();
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
    if (this.view !== undefined) this.view.term.options.screenReaderMode = on;
  }

  focusTerminal(): void {
    this.view?.term.focus();
  }

  /** Closes the connection for good (the shell stays on the server until the machine goes). */
  close(): void {
    this.queue.stop('Le terminal a été fermé.');
    this.session?.close();
    this.session = undefined;
    this.shownAhead = undefined;
    this.typedAhead = undefined;
  }

  private build(): void {
    this.classList.add('lesson-terminal');
    this.view = new TerminalView(
      this,
      this.label,
      sessionStatusText('idle', {}),
      {
        typed: (data) => {
          this.queue.readerTyped();
          // A prompt shown ahead invites typing before the socket is there: keep those keys for it.
          if (this.typedAhead !== undefined && this.session?.state === 'connecting') {
            if (this.typedAhead.length < MAX_TYPED_AHEAD) this.typedAhead.push(data);
            return;
          }
          this.session?.input(data);
        },
        resized: (cols, rows) => this.session?.resize(cols, rows),
        action: () => this.reconnect(),
        leave: (key) => this.dispatchEvent(new CustomEvent('lesson-terminal-leave', { bubbles: true, detail: { name: this.name, key } })),
      },
      this.machine === undefined ? undefined : this.label,
    );
  }

  /** Back online, or back to this tab: no need to wait for the next backoff step. */
  private listenToPage(): void {
    this.pageListeners?.abort();
    const controller = new AbortController();
    const retryNow = () => {
      if (this.session?.state === 'reconnecting') this.session.connect();
    };
    window.addEventListener('online', retryNow, { signal: controller.signal });
    document.addEventListener(
      'visibilitychange',
      () => {
        if (document.visibilityState === 'visible') retryNow();
      },
      { signal: controller.signal },
    );
    this.pageListeners = controller;
  }

  private onState(state: SessionState, detail: StateDetail): void {
    if (state !== 'connecting') {
      const typed = this.typedAhead ?? [];
      this.typedAhead = undefined;
      if (state === 'connected') for (const data of typed) this.session?.input(data);
    }
    const stopReason = STOP_REASONS[state];
    if (stopReason !== undefined && this.queue.busy) this.queue.stop(stopReason);
    this.view?.setStatus(sessionStatusText(state, detail));
    this.view?.setAction(ACTIONS[state]);
    this.dataset.state = state;
    this.dispatchEvent(
      new CustomEvent<TerminalStateEventDetail>('lesson-terminal-state', { bubbles: true, detail: { name: this.name, machine: this.machine, state, detail } }),
    );
  }

  private onReady(message: ReadyMessage): void {
    const term = this.requireView().term;
    if (message.resumed) this.shownAhead = undefined;
    else this.redraw(this.shownAhead?.replayAnnounced(message.replayBytes));
    if (message.resumed) {
      // The replay redraws what this shell showed recently; what we show is older or the same.
      term.reset();
    } else if (this.hasOutput) {
      term.write('\r\n\x1b[2m— nouveau shell —\x1b[0m\r\n');
    }
    // The shell feed learns of output in the order xterm parses it, once it
    // is parsed: a run is over when its last line is on the terminal (drawn
    // at the next frame), not while it still waits in xterm's write queue.
    term.write('', () => this.feed.attached(message));
  }

  private onOutput(bytes: Uint8Array, replay: boolean, written: () => void): void {
    this.hasOutput = true;
    let shown = bytes;
    if (this.shownAhead !== undefined) {
      const unseen = this.shownAhead.unseen(bytes, replay);
      this.redraw(unseen);
      shown = unseen.rest;
    }
    // The shell feed reads every byte, shown ahead or not, in xterm's order.
    this.requireView().term.write(shown, () => {
      written();
      this.feed.output(bytes, replay);
    });
  }

  /** What was shown ahead is not what the shell printed: the screen shows what it printed instead. */
  private redraw(unseen: Unseen | undefined): void {
    if (this.shownAhead?.done) this.shownAhead = undefined;
    if (unseen?.redraw === undefined) return;
    const term = this.requireView().term;
    term.reset();
    term.write(unseen.redraw);
  }

  private requireView(): TerminalView {
    if (this.view === undefined) this.build();
    return this.view!;
  }

  private requireConnection(): TerminalConnection {
    if (this.connection === undefined) throw new Error(`terminal ${this.label} has no machine`);
    return this.connection;
  }
}

export function defineLessonTerminal(): void {
  if (customElements.get(LessonTerminal.tag) === undefined) customElements.define(LessonTerminal.tag, LessonTerminal);
}
