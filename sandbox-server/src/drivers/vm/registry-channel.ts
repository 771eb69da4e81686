// The host's end of a VM's image store channel: QEMU connects the guest's
// registry port (qemu-args.ts) to this socket, and every stream the guest's
// agent opens on it (agent/stream-mux.ts) is connected to the class store's
// read-only gate, which lets through pulls only. The guest names no address:
// where a stream leads is decided here, and it is always the gate.
import net from 'node:net';
import { StreamMux } from '../../../agent/stream-mux.ts';

type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export class RegistryChannel {
  readonly #server: net.Server;
  #connection: net.Socket | undefined;
  #mux: StreamMux | undefined;

  private constructor(server: net.Server) {
    this.#server = server;
  }

  /** Listens on `path` (QEMU connects once, at its start); streams go to `gateSocket`. */
  static async listen(path: string, gateSocket: string, log: Log): Promise<RegistryChannel> {
    const server = net.createServer();
    const channel = new RegistryChannel(server);
    server.on('connection', (socket) => {
      // One QEMU per socket; the directory is root's alone, so nobody else could connect.
      server.close();
      channel.#connection = socket;
      const mux = new StreamMux(socket, socket, {
        onOpen: (id) => {
          const gate = net.connect({ path: gateSocket, allowHalfOpen: true });
          gate.once('error', (error) => log('warn', 'image store gate unreachable: is the class store running?', { gateSocket, error: error.message }));
          mux.carry(gate, id);
        },
        onClose: (reason) => log('debug', 'image store channel closed', { reason }),
      });
      channel.#mux = mux;
      socket.once('error', () => socket.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return channel;
  }

  /** Streams open now. */
  get streams(): number {
    return this.#mux?.size ?? 0;
  }

  close(): void {
    this.#server.close();
    this.#mux?.close('VM destroyed');
    this.#connection?.destroy();
  }
}
