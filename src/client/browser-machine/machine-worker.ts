/// <reference lib="webworker" />
// The browser machine's Web Worker: it downloads the emulator core and the
// saved machine (gzip, decompressed by the browser's own DecompressionStream),
// restores the machine in v86 and relays its serial ports to the page. The
// emulator's busy loop runs here, so the page stays smooth; a dedicated
// worker dies with its tab, and the machine with it. No SharedArrayBuffer:
// the page and the worker only exchange messages.
import { V86, type V86Options } from 'v86';
import { GUEST_LAYOUT } from './guest-layout.ts';
import type { AssetUrls, PageToWorker, WorkerToPage } from './worker-messages.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (message: WorkerToPage, transfer: Transferable[] = []) => scope.postMessage(message, transfer);

let emulator: V86 | undefined;
let wasm: ArrayBuffer | undefined;
/** The saved machine, still compressed: a reset decompresses it again rather than keeping 100 MB around. */
let compressedState: Uint8Array | undefined;
const pending = new Map<number, number[]>();
let flushScheduled = false;

/** Fetches `url` whole, reporting the bytes received. */
async function download(url: string, onBytes: (bytes: number) => void): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok || response.body === null) throw new Error(`${url} : HTTP ${response.status}`);
  const chunks: Uint8Array[] = [];
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    onBytes(value.length);
  }
  const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/** gzip → bytes; a server that already decoded it (Content-Encoding: gzip on a .gz) gives the bytes themselves. */
async function gunzip(bytes: Uint8Array): Promise<ArrayBuffer> {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes.slice().buffer;
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Response(stream).arrayBuffer();
}

async function start(assets: AssetUrls): Promise<void> {
  const total = assets.stateBytes + assets.wasmBytes;
  let loaded = 0;
  let lastReport = 0;
  const progress = (bytes: number) => {
    loaded += bytes;
    const now = performance.now();
    if (now - lastReport > 100 || loaded >= total) {
      lastReport = now;
      post({ type: 'progress', phase: 'download', loaded, total: Math.max(total, loaded) });
    }
  };
  const [wasmBytes, state] = await Promise.all([download(assets.wasm, progress), download(assets.state, progress)]);
  wasm = await gunzip(wasmBytes);
  compressedState = state;
  await restore();
}

async function restore(): Promise<void> {
  post({ type: 'progress', phase: 'restore' });
  const started = performance.now();
  await emulator?.destroy();
  emulator = undefined;
  const state = await gunzip(compressedState!);
  const core = wasm!;
  const machine = new V86({
    wasm_fn: async (imports: WebAssembly.Imports) => (await WebAssembly.instantiate(core, imports)).instance.exports,
    memory_size: GUEST_LAYOUT.memoryBytes,
    vga_memory_size: GUEST_LAYOUT.vgaMemoryBytes,
    uart1: true,
    uart2: true,
    autostart: true,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
    initial_state: { buffer: state },
  } as V86Options);
  for (const port of GUEST_LAYOUT.terminalPorts) {
    machine.add_listener(`serial${port}-output-byte` as 'serial0-output-byte', (byte: number) => queueOutput(port, byte));
  }
  await new Promise<void>((resolve) => machine.add_listener('emulator-ready', () => resolve()));
  emulator = machine;
  // The saved machine's clock stopped when it was saved: give it the reader's.
  control(`clock ${Math.floor(Date.now() / 1000)}`);
  post({ type: 'ready', restoreMs: Math.round(performance.now() - started) });
}

/** One line on the machine's control port (see guest/init). */
function control(line: string): void {
  emulator?.serial_send_bytes(GUEST_LAYOUT.controlPort, new TextEncoder().encode(`${line}\n`));
}

/** v86 gives output byte by byte: send it to the page in chunks, at most a few milliseconds late. */
function queueOutput(port: number, byte: number): void {
  const bytes = pending.get(port) ?? [];
  if (bytes.length === 0) pending.set(port, bytes);
  bytes.push(byte);
  if (!flushScheduled) {
    flushScheduled = true;
    setTimeout(flush, 2);
  }
}

function flush(): void {
  flushScheduled = false;
  for (const [port, bytes] of pending) {
    if (bytes.length === 0) continue;
    const chunk = Uint8Array.from(bytes);
    bytes.length = 0;
    post({ type: 'output', port, bytes: chunk }, [chunk.buffer]);
  }
}

scope.onmessage = (event: MessageEvent<PageToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case 'start':
      start(message.assets).catch((error: unknown) => post({ type: 'failed', message: error instanceof Error ? error.message : String(error) }));
      break;
    case 'input':
      emulator?.serial_send_bytes(message.port, message.bytes);
      break;
    case 'size':
      control(`size ${message.port} ${message.rows} ${message.cols}`);
      break;
    case 'reset':
      restore().catch((error: unknown) => post({ type: 'failed', message: error instanceof Error ? error.message : String(error) }));
      break;
  }
};
