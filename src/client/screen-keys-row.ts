// The row of keys phones lack (Ctrl, Esc, Tab, arrows) under a terminal;
// CSS shows it on touch screens only. The Ctrl key is held for the next key
// typed, as on a real keyboard.
import { SCREEN_KEYS, ctrlChord, screenKeyBytes } from './terminal-keys.ts';

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
