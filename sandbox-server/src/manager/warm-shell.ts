// A shell started in a pooled machine before any reader asked for it, so the
// first reader's terminal shows a prompt at once: the pool opens terminal
// "1" and keeps what it prints (its first prompt) until a reader's sandbox
// adopts it (ManagedSandbox), which replays it to the first page that attaches.
import type { Disposable, Sandbox, TerminalStream } from '../drivers/driver.ts';
import { REPLAY_BUFFER_BYTES } from '../../../contracts/protocol.ts';
import { ReplayBuffer } from '../../../contracts/replay-buffer.ts';
import { DEFAULT_TERMINAL_SIZE, type TerminalSize } from '../../../contracts/sizes.ts';

/** The terminal a page opens first (src/client: « Exécuter » uses terminal 1 unless a snippet says otherwise). */
export const WARM_TERMINAL_NAME = '1';
/** The end of bash's prompt (OSC 133 B, from the machine's shell integration): the shell waits for input. */
const PROMPT_END = Buffer.from('\x1b]133;B');
/** A shell that prints no prompt in this time is kept anyway: the reader sees what it printed, then the rest live. */
const PROMPT_WAIT_MS = 10_000;

export interface AdoptedShell {
  name: string;
  size: TerminalSize;
  stream: TerminalStream;
  /** What it printed while pooled (its first prompt), for the replay. */
  output: Buffer;
}

export class WarmShell {
  readonly name: string;
  readonly size: TerminalSize;
  private readonly stream: TerminalStream;
  private readonly output = new ReplayBuffer(REPLAY_BUFFER_BYTES);
  private readonly subscriptions: Disposable[];
  private exited = false;
  /** The last bytes seen, in case the prompt's mark straddles two chunks. */
  private tail = Buffer.alloc(0);
  private prompted: (() => void) | undefined;
  private readonly prompt = new Promise<void>((resolve) => (this.prompted = resolve));

  private constructor(name: string, size: TerminalSize, stream: TerminalStream) {
    this.name = name;
    this.size = size;
    this.stream = stream;
    // One listener: a driver hands what the shell printed before anyone listened to its first listener only.
    this.subscriptions = [
      stream.onData((chunk) => {
        this.output.append(chunk);
        if (this.prompted === undefined) return;
        const window = Buffer.concat([this.tail, chunk]);
        if (window.includes(PROMPT_END)) this.promptSeen();
        else this.tail = window.subarray(Math.max(0, window.length - PROMPT_END.length));
      }),
      stream.onExit(() => {
        this.exited = true;
        this.promptSeen();
      }),
    ];
  }

  private promptSeen(): void {
    this.prompted?.();
    this.prompted = undefined;
    this.tail = Buffer.alloc(0);
  }

  /** Opens terminal `name` of `sandbox` and resolves once its prompt is printed (or PROMPT_WAIT_MS passed). */
  static async start(sandbox: Sandbox, name = WARM_TERMINAL_NAME, size: TerminalSize = DEFAULT_TERMINAL_SIZE): Promise<WarmShell> {
    const stream = await sandbox.openTerminal(name, { ...size });
    const shell = new WarmShell(name, { ...size }, stream);
    await shell.promptPrinted();
    return shell;
  }

  /** Stops keeping its output and hands the running shell over; undefined when it already exited. */
  adopt(): AdoptedShell | undefined {
    for (const subscription of this.subscriptions) subscription.dispose();
    if (this.exited) return undefined;
    const kept = this.output.snapshot();
    return { name: this.name, size: this.size, stream: this.stream, output: Buffer.from(kept.buffer, kept.byteOffset, kept.byteLength) };
  }

  private async promptPrinted(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, PROMPT_WAIT_MS);
      timer.unref();
    });
    await Promise.race([this.prompt, late]);
    clearTimeout(timer);
    this.promptSeen();
  }
}
