// Keyboard conventions of the embedded terminal, as pure functions:
// copy/paste with the usual keys and a key to leave the terminal (it
// otherwise keeps Tab for completion). The on-screen keys phones lack are in
// screen-keys-row.ts (loaded on touch screens only).

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
