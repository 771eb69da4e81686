// What the page and the browser machine's worker (machine-worker.ts) say to
// each other with postMessage. Terminals are serial ports of the machine.

export interface AssetUrls {
  state: string;
  wasm: string;
  /** Compressed sizes (manifest.json), for progress when the server does not say. */
  stateBytes: number;
  wasmBytes: number;
}

export type PageToWorker =
  | { type: 'start'; assets: AssetUrls }
  | { type: 'input'; port: number; bytes: Uint8Array }
  | { type: 'size'; port: number; cols: number; rows: number }
  /** Restores the saved machine again: every shell starts over. */
  | { type: 'reset' };

export type WorkerToPage =
  | { type: 'progress'; phase: 'download'; loaded: number; total: number }
  | { type: 'progress'; phase: 'restore' }
  | { type: 'ready'; restoreMs: number }
  | { type: 'output'; port: number; bytes: Uint8Array }
  | { type: 'failed'; message: string };
