// The floor any terminal bridge can reach on this host: bash in a node-pty
// on the host, behind a plain `ws` server on loopback, bytes both ways, no
// sandbox, no agent, no flow control. bench/perf.bench.ts measures the
// project against it, side by side in one run. The server runs in the
// benchmark's own process (startBareServer, issue 14's baseline) or in a
// process of its own (startBareServerProcess), as the project's server does.
import { spawn as spawnProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawn, type IPty } from 'node-pty';
import { WebSocket, WebSocketServer } from 'ws';

/** The same shell the agent starts (a login bash, xterm-256color, C.UTF-8), but on the host. */
export function spawnBareShell(cols = 120, rows = 40): IPty {
  return spawn('/bin/bash', ['--login'], {
    name: 'xterm-256color',
    cols,
    rows,
    cwd: '/tmp',
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', TERM: 'xterm-256color', LANG: 'C.UTF-8', HOME: '/tmp' },
    encoding: null,
  });
}

export interface BareServer {
  url: string;
  close(): Promise<void>;
}

/** ws://127.0.0.1:PORT/: each connection gets a new shell; binary frames are its bytes both ways. */
export async function startBareServer(): Promise<BareServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  const shells = new Set<IPty>();
  wss.on('connection', (ws) => {
    const shell = spawnBareShell();
    shells.add(shell);
    shell.onData((chunk: string | Buffer) => ws.send(chunk, { binary: true }));
    shell.onExit(() => {
      shells.delete(shell);
      ws.close();
    });
    ws.on('message', (data) => shell.write(data as Buffer));
    ws.on('close', () => shell.kill());
  });
  await new Promise((resolve) => wss.once('listening', resolve));
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/`,
    close: async () => {
      for (const shell of shells) shell.kill();
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}

/** The same server in a Node process of its own (bench/perf/bare-server-main.ts); close() ends it. */
export async function startBareServerProcess(): Promise<BareServer> {
  const main = fileURLToPath(new URL('./bare-server-main.ts', import.meta.url));
  const child = spawnProcess(process.execPath, [main], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
    child.once('exit', (code, signal) => reject(new Error(`the bare server's process ended before listening (${code ?? signal})`)));
  });
  return {
    url,
    close: async () => {
      child.stdin!.end();
      await exited;
    },
  };
}

/** A client of the bare server: connect, wait for the first prompt, type, close. */
export class BareClient {
  readonly ws: WebSocket;
  private listeners = new Set<(chunk: Buffer) => void>();
  private text = '';

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer) => {
      this.text += data.toString('latin1');
      for (const listener of this.listeners) listener(data);
    });
  }

  static async connect(url: string): Promise<BareClient> {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const client = new BareClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  onData(listener: (chunk: Buffer) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Resolves at the first prompt (a line ending in "$ " or "# "). */
  waitForPrompt(): Promise<void> {
    const prompt = /[$#] $/;
    if (prompt.test(this.text)) return Promise.resolve();
    return new Promise((resolve) => {
      const subscription = this.onData(() => {
        if (prompt.test(this.text)) {
          subscription.dispose();
          resolve();
        }
      });
    });
  }

  type(text: string): void {
    this.ws.send(Buffer.from(text), { binary: true });
  }

  async close(): Promise<void> {
    const closed = new Promise((resolve) => this.ws.once('close', resolve));
    this.ws.close();
    await closed;
  }
}
