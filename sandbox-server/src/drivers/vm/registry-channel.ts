// The host's end of a VM's image store channel: QEMU offers the guest's
// registry port (qemu-args.ts) on a socket this connects to, and every stream the guest's
// agent opens on it (agent/stream-mux.ts) is connected to the class store's
// read-only gate, which lets through pulls only. The guest names no address:
// where a stream leads is decided here, and it is always the gate.
import net from 'node:net';
import { StreamMux } from '../../../agent/stream-mux.ts';
import { connectToAgent } from '../agent-socket.ts';

type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export class RegistryChannel {
  readonly #connection: net.Socket;
  readonly #mux: StreamMux;

  private constructor(connection: net.Socket, mux: StreamMux) {
    this.#connection = connection;
    this.#mux = mux;
  }

  /**
   * Connects to QEMU's socket for the registry port at `path` (retrying while
   * QEMU has not made it yet, up to `timeoutMs`); streams go to `gateSocket`.
   * A server after a restart connects again: the guest sees a new host session.
   */
  static async connect(path: string, gateSocket: string, log: Log, timeoutMs: number): Promise<RegistryChannel> {
    const socket = await connectToAgent(path, timeoutMs);
    const mux: StreamMux = new StreamMux(socket, socket, {
      onOpen: (id) => {
        const gate = net.connect({ path: gateSocket, allowHalfOpen: true });
        gate.once('error', (error) => log('warn', 'image store gate unreachable: is the class store running?', { gateSocket, error: error.message }));
        mux.carry(gate, id);
      },
      onClose: (reason) => log('debug', 'image store channel closed', { reason }),
    });
    socket.once('error', () => socket.destroy());
    return new RegistryChannel(socket, mux);
  }

  /** Streams open now. */
  get streams(): number {
    return this.#mux.size;
  }

  close(reason = 'VM destroyed'): void {
    this.#mux.close(reason);
    this.#connection.destroy();
  }
}
