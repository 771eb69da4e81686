// The reader's machine when no sandbox server answers: a Linux machine
// emulated by v86 in a Web Worker of this tab (machine-worker.ts), restored
// from a state saved at build time. Its terminals are serial ports, opened
// through PortSocket with the server's own protocol. It lives as long as the
// tab: nothing is kept across reloads, nothing leaves the reader's computer.
import type { TerminalSize } from '../../../contracts/sizes.ts';
import { CloseCode } from '../../../contracts/errors.ts';
import { REPLAY_BUFFER_BYTES } from '../../../contracts/wire.ts';
import type { TerminalConnection } from '../lesson-terminal.ts';
import type { SocketLike } from '../terminal-session.ts';
import { BROWSER_MACHINE_DIR, terminalPort, type BrowserMachineManifest } from './guest-layout.ts';
import { PortSocket, type PortHost } from './port-socket.ts';
import type { PageToWorker, WorkerToPage } from './worker-messages.ts';

export type StartProgress = (message: string) => void;

/** Where the site serves the machine's files, from the page's base path. */
export function browserMachineBase(basePath: string, pageUrl: string): string {
  return new URL(`${basePath.endsWith('/') ? basePath : `${basePath}/`}${BROWSER_MACHINE_DIR}/`, pageUrl).href;
}

/** The machine's manifest, or undefined when this site ships no browser machine (turned off, or not built). */
export async function fetchManifest(base: string): Promise<BrowserMachineManifest | undefined> {
  try {
    const response = await fetch(new URL('manifest.json', base), { cache: 'no-cache' });
    if (!response.ok) return undefined;
    const manifest = (await response.json()) as BrowserMachineManifest;
    return manifest.version === 1 ? manifest : undefined;
  } catch {
    return undefined;
  }
}

/** "14,2 Mo", as French readers write it. */
export function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toLocaleString('fr-FR', { maximumFractionDigits: 1, minimumFractionDigits: 1 })} Mo`;
}

export function downloadBytes(manifest: BrowserMachineManifest): number {
  return manifest.state.bytes + manifest.wasm.bytes;
}

export class BrowserMachineError extends Error {
  override name = 'BrowserMachineError';
  readonly hint = "Rechargez la page pour réessayer ; si cela se répète, votre navigateur n'a peut-être pas assez de mémoire (il en faut environ 300 Mo).";
}

/** Bytes of one port's recent output, at most REPLAY_BUFFER_BYTES (the server keeps as much). */
class Screen {
  private chunks: Uint8Array[] = [];
  private size = 0;

  constructor(initial: Uint8Array) {
    this.push(initial);
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.size += bytes.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= REPLAY_BUFFER_BYTES) this.size -= this.chunks.shift()!.length;
  }

  bytes(): Uint8Array {
    const all = new Uint8Array(this.size);
    let offset = 0;
    for (const chunk of this.chunks) {
      all.set(chunk, offset);
      offset += chunk.length;
    }
    return all.length > REPLAY_BUFFER_BYTES ? all.subarray(all.length - REPLAY_BUFFER_BYTES) : all;
  }
}

function decodeBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

/**
 * What differs in the browser machine, said where it shows: it has no Docker.
 * Debian's i386 docker.io + containerd + runc are 206 MB installed (52 MB of
 * packages): in a machine whose whole disk is RAM, restored from a download,
 * that is ≈ 4× the machine itself, before dockerd's own memory.
 */
export const NO_DOCKER_REMARK =
  "La machine de votre navigateur n'a pas Docker : `pidof dockerd` n'y trouve rien, donc `ls` ne trouve pas /proc//ns et `kill` affiche son mode d'emploi. Sur une machine du serveur du cours, dockerd tourne et `kill` répond « No such process ».";

export class BrowserMachine implements PortHost {
  readonly manifest: BrowserMachineManifest;
  private readonly base: string;
  private worker: Worker | undefined;
  private starting: Promise<void> | undefined;
  private progress: StartProgress = () => undefined;
  private screens = new Map<number, Screen>();
  private readonly sockets = new Map<number, PortSocket>();
  private generation = 1;
  private waiting: { resolve(): void; reject(error: Error): void } | undefined;
  /** Milliseconds from the start to the first `ready` of the worker, for the page's figures. */
  startMs: number | undefined;

  constructor(manifest: BrowserMachineManifest, base: string) {
    this.manifest = manifest;
    this.base = base;
    this.resetScreens();
  }

  /** The machine's name in this tab; a reset makes a new one (so terminals know their old shell is gone). */
  get id(): string {
    return `navigateur-${this.generation}`;
  }

  /** What to add after a run of `commands` in this machine: it has no Docker, said when a command needs dockerd. */
  remarkAbout(commands: readonly string[]): string | undefined {
    return commands.some((command) => command.includes('dockerd')) ? NO_DOCKER_REMARK : undefined;
  }

  get running(): boolean {
    return this.worker !== undefined && this.starting === undefined;
  }

  /** Starts the machine (download, then restore) once; later calls wait for the same start. */
  start(progress: StartProgress): Promise<void> {
    this.progress = progress;
    if (this.worker !== undefined && this.starting === undefined) return Promise.resolve();
    this.starting ??= this.boot().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /** Restores the saved machine again: every shell starts over, every terminal is told its machine is gone. */
  async reset(progress: StartProgress): Promise<void> {
    if (this.worker === undefined) return this.start(progress);
    this.progress = progress;
    this.generation++;
    for (const socket of [...this.sockets.values()]) socket.close(CloseCode.gone, 'machine reset');
    this.resetScreens();
    await this.waitReady(() => this.send({ type: 'reset' }));
  }

  /** How terminals reach this machine: a socket per serial port instead of a WebSocket. */
  connection(): TerminalConnection {
    return {
      url: (name, size) => `browser-machine:${this.id}/${encodeURIComponent(name)}?cols=${size.cols}&rows=${size.rows}`,
      socket: (url) => this.open(url),
    };
  }

  screen(port: number): Uint8Array {
    return this.screens.get(port)?.bytes() ?? new Uint8Array();
  }

  input(port: number, bytes: Uint8Array): void {
    this.send({ type: 'input', port, bytes }, [bytes.buffer]);
  }

  resize(port: number, size: TerminalSize): void {
    this.send({ type: 'size', port, cols: size.cols, rows: size.rows });
  }

  attach(port: number, socket: PortSocket): void {
    const previous = this.sockets.get(port);
    this.sockets.set(port, socket);
    if (previous !== undefined && previous !== socket) previous.close(CloseCode.takenOver, 'taken over');
  }

  detach(port: number, socket: PortSocket): void {
    if (this.sockets.get(port) === socket) this.sockets.delete(port);
  }

  /** Stops the emulator now (the tab closing stops it anyway). */
  stop(): void {
    this.worker?.terminate();
    this.worker = undefined;
  }

  private open(url: string): SocketLike {
    const parsed = /^browser-machine:([^/]+)\/([^?]+)\?cols=(\d+)&rows=(\d+)$/.exec(url);
    const name = decodeURIComponent(parsed?.[2] ?? '');
    const port = terminalPort(name);
    const size = { cols: Number(parsed?.[3] ?? 80), rows: Number(parsed?.[4] ?? 24) };
    if (parsed?.[1] !== this.id) return closedSocket(CloseCode.gone, 'gone', 'Cette machine a été réinitialisée.');
    if (port === undefined) {
      return closedSocket(CloseCode.tooManyTerminals, 'too-many-terminals', 'La machine du navigateur a deux terminaux (1 et 2) : utilisez-en un.');
    }
    return new PortSocket(this, this.id, name, port, size);
  }

  private resetScreens(): void {
    this.screens = new Map(this.manifest.screens.map((screen, index) => [index, new Screen(decodeBase64(screen))]));
  }

  private async boot(): Promise<void> {
    const started = performance.now();
    this.progress(`Téléchargement de la machine (${megabytes(downloadBytes(this.manifest))})…`);
    const worker = new Worker(new URL('./machine-worker.ts', import.meta.url), { type: 'module', name: 'machine du navigateur' });
    worker.onmessage = (event: MessageEvent<WorkerToPage>) => this.onWorkerMessage(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      this.fail(new BrowserMachineError(`La machine du navigateur s'est arrêtée : ${event.message || 'erreur du worker'}.`));
    };
    this.worker = worker;
    try {
      await this.waitReady(() =>
        this.send({
          type: 'start',
          assets: {
            state: new URL(this.manifest.state.file, this.base).href,
            wasm: new URL(this.manifest.wasm.file, this.base).href,
            stateBytes: this.manifest.state.bytes,
            wasmBytes: this.manifest.wasm.bytes,
          },
        }),
      );
      this.startMs = performance.now() - started;
    } catch (error) {
      this.stop();
      throw error;
    }
  }

  private waitReady(begin: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting = { resolve, reject };
      begin();
    });
  }

  private fail(error: Error): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting !== undefined) waiting.reject(error);
    else for (const socket of [...this.sockets.values()]) socket.close(CloseCode.gone, error.message);
  }

  private onWorkerMessage(message: WorkerToPage): void {
    switch (message.type) {
      case 'progress':
        this.progress(
          message.phase === 'download'
            ? `Téléchargement de la machine : ${megabytes(message.loaded)} sur ${megabytes(message.total)}…`
            : 'Démarrage de la machine dans votre navigateur…',
        );
        break;
      case 'ready': {
        const waiting = this.waiting;
        this.waiting = undefined;
        waiting?.resolve();
        break;
      }
      case 'output':
        this.screens.get(message.port)?.push(message.bytes);
        this.sockets.get(message.port)?.deliver(message.bytes);
        break;
      case 'failed':
        this.fail(new BrowserMachineError(`La machine du navigateur n'a pas pu démarrer : ${message.message}.`));
        break;
    }
  }

  private send(message: PageToWorker, transfer: Transferable[] = []): void {
    this.worker?.postMessage(message, transfer);
  }
}

/** A socket that refuses at once, the way the server refuses a terminal: an error frame, then a close code. */
function closedSocket(code: number, errorCode: 'gone' | 'too-many-terminals', message: string): SocketLike {
  const socket: SocketLike = {
    binaryType: 'arraybuffer',
    readyState: 1,
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
    send: () => undefined,
    close: () => undefined,
  };
  queueMicrotask(() => {
    socket.onmessage?.({ data: JSON.stringify({ type: 'error', code: errorCode, message }) });
    (socket as { readyState: number }).readyState = 3;
    socket.onclose?.({ code, reason: errorCode });
  });
  return socket;
}
