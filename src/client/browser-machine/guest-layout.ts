// What the browser machine is made of, shared by its build (Node, which boots
// it once and saves its state) and the page's worker (which restores that
// state): a state restores only into an emulator configured the same way.

export const GUEST_LAYOUT = {
  /** Guest RAM. The saved state is this RAM, compressed: free pages are zeroed by the guest's init. */
  memoryBytes: 128 * 1024 * 1024,
  /** The serial console needs no screen: the smallest VGA memory v86 accepts. */
  vgaMemoryBytes: 256 * 1024,
  /** Terminal "1" is serial port 0, terminal "2" serial port 1. */
  terminalPorts: [0, 1] as const,
  /** The line on which the page sends sizes and the clock, and the init script reports (see guest/init). */
  controlPort: 2,
  cmdline: 'console=tty0 quiet loglevel=3 tsc=reliable mitigations=off random.trust_cpu=on',
} as const;

/** Where the site serves the machine, under its base path. */
export const BROWSER_MACHINE_DIR = 'browser-machine';

/** The files the page fetches, described by manifest.json (written by the build). */
export interface BrowserMachineManifest {
  version: 1;
  /** The build's input hash: the assets' names carry it, so a new machine is a new URL (caches never serve an old one). */
  id: string;
  /** v86's emulator core, gzip-compressed. */
  wasm: { file: string; bytes: number; rawBytes: number };
  /** The saved machine, gzip-compressed. */
  state: { file: string; bytes: number; rawBytes: number };
  /** What each terminal showed when the state was saved (its first prompt), base64. */
  screens: string[];
  kernel: string;
  packages: number;
}

/** The terminal name → serial port, or undefined for a terminal this machine does not have. */
export function terminalPort(name: string): number | undefined {
  const index = Number(name) - 1;
  return Number.isInteger(index) ? GUEST_LAYOUT.terminalPorts[index] : undefined;
}
