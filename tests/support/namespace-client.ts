// The namespace view's socket (WS api/sandboxes/:id/namespaces) as the panel
// uses it, for tests and benchmarks: every message parsed with protocol.ts,
// applied to a MachinePicture, grouped as the panel groups it.
import { WebSocket } from 'ws';
import { TOKEN_QUERY_PARAM, apiPath, parseNamespaceMessage, type NamespaceServerMessage } from '../../contracts/protocol.ts';
import { applyNamespaceMessage, type MachinePicture } from '../../src/client/namespace-view/machine-picture.ts';
import { namespaceBands, type NamespaceBand } from '../../src/client/namespace-view/namespace-groups.ts';
import type { ServerAddress } from './server-client.ts';

export class NamespaceClient {
  readonly ws: WebSocket;
  readonly messages: NamespaceServerMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  picture: MachinePicture | undefined;
  /** Bytes of text frames received (the cost of an open panel). */
  receivedBytes = 0;
  readonly #waiters = new Set<() => void>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data) => {
      const text = data.toString();
      this.receivedBytes += Buffer.byteLength(text);
      const parsed = parseNamespaceMessage(text);
      if (!parsed.ok) throw new Error(`the server sent a bad namespace message: ${parsed.error.message}\n${text.slice(0, 500)}`);
      this.messages.push(parsed.value);
      if (parsed.value.type !== 'error') this.picture = applyNamespaceMessage(this.picture, parsed.value);
      for (const waiter of this.#waiters) waiter();
    });
  }

  /** `machine`: a lab's machine, by the …/machines/:machine/namespaces route. */
  static url(server: ServerAddress, sandbox: { id: string; token: string }, machine?: string): string {
    const url = new URL(machine === undefined ? apiPath.namespaces(sandbox.id) : apiPath.machineNamespaces(sandbox.id, machine), server.url);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set(TOKEN_QUERY_PARAM, sandbox.token);
    return url.href;
  }

  static async connect(server: ServerAddress, sandbox: { id: string; token: string }, machine?: string): Promise<NamespaceClient> {
    const ws = new WebSocket(NamespaceClient.url(server, sandbox, machine));
    const client = new NamespaceClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  bands(): NamespaceBand[] {
    if (!this.picture) throw new Error('no snapshot yet');
    return namespaceBands(this.picture);
  }

  band(type: string): NamespaceBand {
    return this.bands().find((band) => band.type === type)!;
  }

  /** Waits until the picture satisfies `predicate`; throws with the last picture after `timeoutMs`. */
  async waitFor(predicate: (client: NamespaceClient) => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    if (this.picture && predicate(this)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`the namespace view never showed ${what}; last picture:\n${this.describe()}`));
      }, timeoutMs);
      const check = () => {
        if (this.picture && predicate(this)) {
          clearTimeout(timer);
          this.#waiters.delete(check);
          resolve();
        }
      };
      this.#waiters.add(check);
    });
  }

  describe(): string {
    if (!this.picture) return '(nothing)';
    return this.bands()
      .map(
        (band) =>
          `${band.type}: ${band.groups
            .map(
              (group) =>
                `${group.label} [${group.processes
                  .slice(0, 8)
                  .map((p) => `${p.pid}/${p.nspid} ${p.command.slice(0, 40)}${p.terminal ? ` t${p.terminal}` : ''}`)
                  .join(', ')}${group.processes.length > 8 ? ', …' : ''}]`,
            )
            .join(' | ')}`,
      )
      .join('\n');
  }

  async close(): Promise<void> {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(1000);
    await this.closed;
  }
}
