// The row of keys phones lack (Ctrl, Esc, Tab, arrows) under a terminal,
// with what each key sends: loaded on touch screens only (terminal-view.ts),
// where CSS shows it. The Ctrl key is held for the next key typed, as on a
// real keyboard.

export interface ScreenKey {
  /** Text on the button. */
  label: string;
  /** Accessible name. */
  name: string;
  /** Bytes sent in normal mode, and in "application cursor keys" mode (vi, less) when different. */
  normal: string;
  application?: string;
}

/** The row of keys shown on touch screens, after the Ctrl toggle. */
export const SCREEN_KEYS: readonly ScreenKey[] = [
  { label: 'Échap', name: 'Échap', normal: '\x1b' },
  { label: 'Tab', name: 'Tabulation', normal: '\t' },
  { label: '←', name: 'Flèche gauche', normal: '\x1b[D', application: '\x1bOD' },
  { label: '↑', name: 'Flèche haut', normal: '\x1b[A', application: '\x1bOA' },
  { label: '↓', name: 'Flèche bas', normal: '\x1b[B', application: '\x1bOB' },
  { label: '→', name: 'Flèche droite', normal: '\x1b[C', application: '\x1bOC' },
];

export function screenKeyBytes(key: ScreenKey, applicationCursor: boolean): string {
  return applicationCursor && key.application !== undefined ? key.application : key.normal;
}

/** What Ctrl + `text` sends (the on-screen Ctrl is held for the next key): Ctrl-C → \x03; undefined if no such chord. */
export function ctrlChord(text: string): string | undefined {
  if (text.length !== 1) return undefined;
  const code = text.toUpperCase().charCodeAt(0);
  // @ A–Z [ \ ] ^ _ map to 0x00–0x1f, as on a real keyboard.
  if (code >= 0x40 && code <= 0x5f) return String.fromCharCode(code - 0x40);
  if (text === '?') return '\x7f';
  return undefined;
}

export interface ScreenKeysTarget {
  /** Sends bytes as typed. */
  send(bytes: string): void;
  /** The terminal is in "application cursor keys" mode (vi, less…). */
  applicationCursor(): boolean;
  /** Gives the focus back to the terminal (and keeps the phone's keyboard up). */
  focus(): void;
}

export class ScreenKeysRow {
  readonly element: HTMLElement;
  private readonly ctrl: HTMLButtonElement;
  private ctrlHeld = false;

  constructor(terminalName: string, target: ScreenKeysTarget) {
    const row = document.createElement('div');
    row.className = 'lt-keys';
    row.setAttribute('role', 'toolbar');
    row.setAttribute('aria-label', `Touches du terminal ${terminalName}`);
    const button = (label: string, name: string, press: () => void) => {
      const key = document.createElement('button');
      key.type = 'button';
      key.textContent = label;
      key.setAttribute('aria-label', name);
      // Keep the focus (and the phone's keyboard) in the terminal.
      key.addEventListener('pointerdown', (event) => event.preventDefault());
      key.addEventListener('click', () => {
        press();
        target.focus();
      });
      row.append(key);
      return key;
    };
    this.ctrl = button('Ctrl', 'Ctrl (pour la touche suivante)', () => this.holdCtrl(!this.ctrlHeld));
    this.ctrl.setAttribute('aria-pressed', 'false');
    for (const key of SCREEN_KEYS) button(key.label, key.name, () => target.send(screenKeyBytes(key, target.applicationCursor())));
    this.element = row;
  }

  /** What the keyboard typed, turned into a Ctrl chord if Ctrl is held (which releases it). */
  transform(input: string): string {
    if (!this.ctrlHeld) return input;
    this.holdCtrl(false);
    return ctrlChord(input) ?? input;
  }

  private holdCtrl(held: boolean): void {
    this.ctrlHeld = held;
    this.ctrl.setAttribute('aria-pressed', String(held));
  }
}
