import { describe, expect, it } from 'vitest';
import { SCREEN_KEYS, ctrlChord, screenKeyBytes } from '../../src/client/screen-keys-row.ts';
import { keyAction, type KeyLike } from '../../src/client/terminal-keys.ts';

const key = (name: string, modifiers: Partial<KeyLike> = {}): KeyLike => ({
  type: 'keydown',
  key: name,
  ctrlKey: false,
  shiftKey: false,
  altKey: false,
  metaKey: false,
  ...modifiers,
});

describe('keyAction', () => {
  it('copies with Ctrl+Shift+C and Ctrl+Insert, and with Ctrl+C only when text is selected', () => {
    expect(keyAction(key('C', { ctrlKey: true, shiftKey: true }), false)).toBe('copy');
    expect(keyAction(key('Insert', { ctrlKey: true }), false)).toBe('copy');
    expect(keyAction(key('c', { ctrlKey: true }), true)).toBe('copy');
    // Without a selection Ctrl-C is the shell's interrupt.
    expect(keyAction(key('c', { ctrlKey: true }), false)).toBeUndefined();
  });

  it('lets the browser paste on Ctrl+V, Ctrl+Shift+V and Shift+Insert', () => {
    expect(keyAction(key('v', { ctrlKey: true }), false)).toBe('paste');
    expect(keyAction(key('V', { ctrlKey: true, shiftKey: true }), false)).toBe('paste');
    expect(keyAction(key('Insert', { shiftKey: true }), false)).toBe('paste');
  });

  it('leaves the terminal on F6 and leaves every other key to the shell', () => {
    expect(keyAction(key('F6'), false)).toBe('leave');
    expect(keyAction(key('Tab'), false)).toBeUndefined();
    expect(keyAction(key('d', { ctrlKey: true }), false)).toBeUndefined();
    expect(keyAction(key('c', { ctrlKey: true, altKey: true }), true)).toBeUndefined();
    expect(keyAction({ ...key('C', { ctrlKey: true, shiftKey: true }), type: 'keyup' }, false)).toBeUndefined();
  });
});

describe('on-screen keys', () => {
  it('send the bytes of a real keyboard, in both cursor modes', () => {
    const up = SCREEN_KEYS.find((k) => k.name === 'Flèche haut')!;
    expect(screenKeyBytes(up, false)).toBe('\x1b[A');
    expect(screenKeyBytes(up, true)).toBe('\x1bOA');
    const esc = SCREEN_KEYS.find((k) => k.name === 'Échap')!;
    expect(screenKeyBytes(esc, true)).toBe('\x1b');
  });

  it('turn the next key into a Ctrl chord', () => {
    expect(ctrlChord('c')).toBe('\x03');
    expect(ctrlChord('D')).toBe('\x04');
    expect(ctrlChord('[')).toBe('\x1b');
    expect(ctrlChord('?')).toBe('\x7f');
    expect(ctrlChord('1')).toBeUndefined();
    expect(ctrlChord('ab')).toBeUndefined();
  });
});
