// What one terminal looks like on the page: a head (title, status line, an
// action button), the xterm.js screen (DOM renderer, fit addon, and the
// web-links addon once a pointer comes over it, GitHub's dark palette), and the row of keys phones lack. It knows
// nothing of connections: it reports what the reader types and the sizes
// the screen takes, and shows what it is given.
import { FitAddon } from '@xterm/addon-fit';
import { Terminal, type ITheme } from '@xterm/xterm';
import { writeClipboard } from '../components/copy-client.ts';
import type { ScreenKeysRow } from './screen-keys-row.ts';
import { keyAction, LEAVE_KEY } from './terminal-keys.ts';

Terminal.strings.promptLabel = 'Saisie du terminal';
Terminal.strings.tooMuchOutput = 'Trop de texte à lire : la lecture de la sortie est suspendue.';

/** GitHub's dark palette: the terminal stays dark in both page themes, like a real one. */
const THEME: ITheme = {
  background: '#0d1117',
  foreground: '#e6edf3',
  cursor: '#e6edf3',
  selectionBackground: '#264f78',
  black: '#484f58',
  red: '#ff7b72',
  green: '#3fb950',
  yellow: '#d29922',
  blue: '#58a6ff',
  magenta: '#bc8cff',
  cyan: '#39c5cf',
  white: '#b1bac4',
  brightBlack: '#6e7681',
  brightRed: '#ffa198',
  brightGreen: '#56d364',
  brightYellow: '#e3b341',
  brightBlue: '#79c0ff',
  brightMagenta: '#d2a8ff',
  brightCyan: '#56d4dd',
  brightWhite: '#ffffff',
};

export interface TerminalViewEvents {
  /** The reader typed (keyboard, paste, on-screen keys): text to send as is. */
  typed(data: string | Uint8Array): void;
  /** The screen took a new size. */
  resized(cols: number, rows: number): void;
  /** The action button was clicked. */
  action(): void;
  /** The reader pressed the key that leaves the terminal. */
  leave(key: string): void;
}

export class TerminalView {
  readonly term: Terminal;
  private readonly fit = new FitAddon();
  private readonly status: HTMLElement;
  private readonly actionButton: HTMLButtonElement;
  private readonly screen: HTMLElement;
  /** The keys phones lack: on touch screens only, its code loaded then. */
  private keys: ScreenKeysRow | undefined;
  private readonly resizeObserver: ResizeObserver;

  /** Builds the terminal inside `host` (the <lesson-terminal> element); `heading` is its title (« node2 · 1 » in a lab). */
  constructor(host: HTMLElement, name: string, initialStatus: string, events: TerminalViewEvents, heading = `Terminal ${name}`) {
    const head = document.createElement('div');
    head.className = 'lt-head';
    const title = document.createElement('span');
    title.className = 'lt-title';
    title.textContent = heading;
    this.status = document.createElement('span');
    this.status.className = 'lt-status';
    this.status.setAttribute('role', 'status');
    this.status.dataset.terminalStatus = '';
    this.status.textContent = initialStatus;
    this.actionButton = document.createElement('button');
    this.actionButton.type = 'button';
    this.actionButton.className = 'lt-action';
    this.actionButton.hidden = true;
    this.actionButton.addEventListener('click', () => events.action());
    head.append(title, this.status, this.actionButton);

    this.screen = document.createElement('div');
    this.screen.className = 'lt-screen';
    this.screen.setAttribute('aria-label', `Terminal ${name}`);

    host.append(head, this.screen);
    const touch = matchMedia('(pointer: coarse)');
    const addKeys = () => {
      import('./screen-keys-row.ts')
        .then(({ ScreenKeysRow }) => {
          if (this.keys !== undefined) return;
          this.keys = new ScreenKeysRow(name, {
            send: (bytes) => events.typed(bytes),
            applicationCursor: () => this.term.modes.applicationCursorKeysMode,
            focus: () => this.term.focus(),
          });
          host.append(this.keys.element);
        })
        .catch(() => undefined);
    };
    if (touch.matches) addKeys();
    else touch.addEventListener('change', addKeys, { once: true });

    const term = new Terminal({
      fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace",
      fontSize: 14,
      lineHeight: 1.15,
      cursorBlink: true,
      scrollback: 5000,
      theme: THEME,
      screenReaderMode: false,
    });
    term.loadAddon(this.fit);
    term.open(this.screen);
    // Links are hovered and clicked: their addon comes with the first pointer over the screen, not with the first prompt.
    this.screen.addEventListener(
      'pointerover',
      () => {
        import('@xterm/addon-web-links').then(({ WebLinksAddon }) => term.loadAddon(new WebLinksAddon())).catch(() => undefined);
      },
      { once: true },
    );
    // Several terminals on one page: say which one the keyboard is in.
    term.textarea?.setAttribute('aria-label', `Saisie du terminal ${name}`);
    term.attachCustomKeyEventHandler((event) => this.onKey(event, events));
    term.onData((data) => events.typed(this.keys?.transform(data) ?? data));
    term.onBinary((data) => events.typed(Uint8Array.from(data, (char) => char.charCodeAt(0) & 0xff)));
    term.onResize(({ cols, rows }) => events.resized(cols, rows));
    this.term = term;
    this.resizeObserver = new ResizeObserver(() => this.fitToScreen());
    this.observe();
  }

  /** Follows the screen's size again (the element was put back in the page). */
  observe(): void {
    this.resizeObserver.observe(this.screen);
    this.fitToScreen();
  }

  /** Stops following the screen's size (the element left the page). */
  unobserve(): void {
    this.resizeObserver.disconnect();
  }

  /**
   * Draws every printable ASCII character, plain and bold, for a terminal
   * built ahead and unseen: xterm measures a glyph's width the first time it
   * draws it (a page layout each), better then than on the first prompt.
   * Its caller clears the screen before the first real output.
   */
  drawEveryGlyph(): void {
    let glyphs = '';
    for (let code = 0x21; code < 0x7f; code++) glyphs += String.fromCharCode(code);
    this.term.write(`${glyphs}\r\n\x1b[1m${glyphs}\x1b[0m`);
  }

  setStatus(text: string): void {
    this.status.textContent = text;
  }

  /** Shows the action button with `label`, or hides it. */
  setAction(label: string | undefined): void {
    this.actionButton.hidden = label === undefined;
    if (label !== undefined) this.actionButton.textContent = label;
  }

  /** Fits the terminal to its box; a hidden or folded box (0×0) is ignored, never sent as a size. */
  fitToScreen(): void {
    if (this.screen.clientWidth === 0 || this.screen.clientHeight === 0) return;
    const dimensions = this.fit.proposeDimensions();
    if (dimensions === undefined || !Number.isFinite(dimensions.cols) || !Number.isFinite(dimensions.rows)) return;
    this.fit.fit();
  }

  private onKey(event: KeyboardEvent, events: TerminalViewEvents): boolean {
    switch (keyAction(event, this.term.hasSelection())) {
      case undefined:
        return true;
      case 'copy':
        event.preventDefault();
        void writeClipboard(this.term.getSelection()).catch(() => undefined);
        return false;
      case 'paste':
        // Not prevented: the browser's paste event brings the text to xterm, which sends it.
        return false;
      case 'leave':
        event.preventDefault();
        events.leave(LEAVE_KEY);
        return false;
    }
  }
}
