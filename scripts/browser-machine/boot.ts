// Boots the browser machine once in Node with v86 (the same emulator the
// page runs), waits for the two student shells to draw their prompts, and
// saves the machine's state: the page restores that state instead of
// booting, which takes a fraction of a second instead of a minute.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { V86Options } from 'v86';
import { GUEST_LAYOUT } from '../../src/client/browser-machine/guest-layout.ts';

const require = createRequire(import.meta.url);
export const V86_WASM = require.resolve('v86/build/v86.wasm');
export const SEABIOS = '/usr/share/seabios/bios.bin';
export const VGABIOS = '/usr/share/seabios/vgabios-stdvga.bin';

const B_MARK = '\x1b]133;B\x07';
const READY_LINE = 'cours-linux: machine ready';

export interface BootInputs {
  kernel: Buffer;
  initrd: Buffer;
}

export interface SavedMachine {
  state: ArrayBuffer;
  /** What each terminal's port printed up to the save (its first prompt): the page replays it. */
  screens: Uint8Array[];
  bootMs: number;
  /** The kernel console (port 2) during boot, for the build's log. */
  console: string;
}

function toArrayBuffer(buffer: Buffer): ArrayBuffer {
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;
}

/** The options both the boot and every restore use (a state restores only into the same machine). */
export async function machineOptions(): Promise<V86Options> {
  return {
    wasm_path: V86_WASM,
    bios: { buffer: toArrayBuffer(await readFile(SEABIOS)) },
    vga_bios: { buffer: toArrayBuffer(await readFile(VGABIOS)) },
    memory_size: GUEST_LAYOUT.memoryBytes,
    vga_memory_size: GUEST_LAYOUT.vgaMemoryBytes,
    uart1: true,
    uart2: true,
    autostart: true,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
  } as V86Options;
}

/** `onConsoleLine` sees the kernel console line by line while it boots (the build prints it with BROWSER_MACHINE_VERBOSE=1). */
export async function bootAndSave(
  { kernel, initrd }: BootInputs,
  onConsoleLine: (line: string) => void = () => undefined,
  timeoutMs = 1_200_000,
): Promise<SavedMachine> {
  const started = Date.now();
  // Loaded here, not with the module: the site build imports this file only to find the cache.
  const { V86 } = await import('v86');
  const emulator = new V86({
    ...(await machineOptions()),
    bzimage: { buffer: toArrayBuffer(kernel) },
    initrd: { buffer: toArrayBuffer(initrd) },
    cmdline: GUEST_LAYOUT.cmdline,
  } as V86Options);
  const screens: number[][] = GUEST_LAYOUT.terminalPorts.map(() => []);
  const consoleBytes: number[] = [];
  GUEST_LAYOUT.terminalPorts.forEach((port, index) => {
    emulator.add_listener(`serial${port}-output-byte` as 'serial0-output-byte', (byte: number) => screens[index]!.push(byte));
  });
  let line: number[] = [];
  emulator.add_listener(`serial${GUEST_LAYOUT.controlPort}-output-byte` as 'serial0-output-byte', (byte: number) => {
    consoleBytes.push(byte);
    if (byte !== 0x0a) line.push(byte);
    else {
      onConsoleLine(Buffer.from(line).toString('latin1').replace(/\r$/, ''));
      line = [];
    }
  });
  const text = (bytes: number[]) => Buffer.from(bytes).toString('latin1');
  try {
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => {
        const shown = screens.map((screen, index) => `terminal ${index + 1} showed: ${JSON.stringify(text(screen))}`).join('\n');
        reject(new Error(`the browser machine did not show its two prompts within ${timeoutMs / 1000} s; its console said:\n${text(consoleBytes)}\n${shown}`));
      }, timeoutMs);
      const poll = setInterval(() => {
        if (text(consoleBytes).includes(READY_LINE) && screens.every((screen) => text(screen).includes(B_MARK))) {
          clearInterval(poll);
          clearTimeout(deadline);
          resolve();
        }
      }, 100);
    });
    const bootMs = Date.now() - started;
    // Let the shells finish whatever they print after the prompt (nothing, normally).
    await new Promise((done) => setTimeout(done, 1000));
    await emulator.stop();
    const state = await emulator.save_state();
    return { state, screens: screens.map((bytes) => Uint8Array.from(bytes)), bootMs, console: text(consoleBytes) };
  } finally {
    await emulator.destroy();
  }
}

/** Restores `state` in Node and runs `command` in terminal 1: the build's proof that the saved machine answers. */
export async function checkRestored(
  state: ArrayBuffer,
  command: string,
  expected: RegExp,
  timeoutMs = 60_000,
): Promise<{ restoreMs: number; answerMs: number; output: string }> {
  const started = Date.now();
  const { V86 } = await import('v86');
  const emulator = new V86({ ...(await machineOptions()), initial_state: { buffer: state } } as V86Options);
  try {
    await new Promise<void>((resolve) => emulator.add_listener('emulator-ready', () => resolve()));
    const restoreMs = Date.now() - started;
    const bytes: number[] = [];
    const port = GUEST_LAYOUT.terminalPorts[0]!;
    emulator.add_listener(`serial${port}-output-byte` as 'serial0-output-byte', (byte: number) => bytes.push(byte));
    const typed = Date.now();
    emulator.serial_send_bytes(port, new TextEncoder().encode(`${command}\r`));
    const output = await new Promise<string>((resolve, reject) => {
      const deadline = setTimeout(
        () =>
          reject(
            new Error(
              `the restored machine did not answer \`${command}\` within ${timeoutMs / 1000} s; it printed: ${JSON.stringify(Buffer.from(bytes).toString('latin1'))}`,
            ),
          ),
        timeoutMs,
      );
      const poll = setInterval(() => {
        const seen = Buffer.from(bytes).toString('utf8');
        if (expected.test(seen)) {
          clearInterval(poll);
          clearTimeout(deadline);
          resolve(seen);
        }
      }, 20);
    });
    return { restoreMs, answerMs: Date.now() - typed, output };
  } finally {
    await emulator.destroy();
  }
}
