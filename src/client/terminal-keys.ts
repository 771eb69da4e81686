// Keyboard conventions of the embedded terminal, as pure functions:
// copy/paste with the usual keys, a key to leave the terminal (it otherwise
// keeps Tab for completion), and the on-screen keys phones lack.

export interface KeyLike {
  type: string;
  key: string;
  ctrlKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
  metaKey: boolean;
}

export type KeyAction =
  /** Copy the selection to the clipboard instead of sending the key. */
  | 'copy'
  /** Let the browser paste (its paste event reaches xterm), instead of sending the key. */
  | 'paste'
  /** Move focus out of the terminal. */
  | 'leave';

/** The key that moves focus out of the terminal (F6 moves between panes in browsers too). */
export const LEAVE_KEY = 'F6';

/**
 * What a key press means besides typing. Ctrl-C copies only when text is
 * selected: without a selection it stays the interrupt every shell user knows.
 */
export function keyAction(event: KeyLike, hasSelection: boolean): KeyAction | undefined {
  if (event.type !== 'keydown') return undefined;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  const ctrl = event.ctrlKey && !event.altKey && !event.metaKey;
  if (key === LEAVE_KEY && !event.ctrlKey && !event.altKey && !event.metaKey) return 'leave';
  if (ctrl && event.shiftKey && key === 'c') return 'copy';
  if (ctrl && !event.shiftKey && key === 'c' && hasSelection) return 'copy';
  if (ctrl && key === 'Insert') return 'copy';
  if (ctrl && key === 'v') return 'paste';
  if (event.shiftKey && !event.ctrlKey && key === 'Insert') return 'paste';
  return undefined;
}

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
