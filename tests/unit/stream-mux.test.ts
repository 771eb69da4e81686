// The image store's channel into a VM (agent/stream-mux.ts), with real
// sockets on both sides: a guest-side mux accepting connections, a host-side
// mux connecting each stream to a server, one socket pair as the "port".
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_PAYLOAD, StreamMux, WINDOW } from '../../sandbox-server/agent/stream-mux.ts';

interface Rig {
  /** Connect as a guest process would, to the guest's listening port. */
  connect(): Promise<net.Socket>;
  guest: StreamMux;
  host: StreamMux;
  close(): void;
}

const rigs: Rig[] = [];
afterEach(() => {
  for (const rig of rigs.splice(0)) rig.close();
});

/** A guest listener → mux ⇄ (socket pair) ⇄ mux → `upstream` (a server on the host side). */
async function rig(upstream: net.Server): Promise<Rig> {
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamPort = (upstream.address() as net.AddressInfo).port;
  // The "virtio port": one TCP connection standing for the byte stream QEMU carries.
  const portServer = net.createServer();
  await new Promise<void>((resolve) => portServer.listen(0, '127.0.0.1', resolve));
  const hostEnd = new Promise<net.Socket>((resolve) => portServer.once('connection', resolve));
  const guestEnd = net.connect((portServer.address() as net.AddressInfo).port, '127.0.0.1');
  const hostSocket = await hostEnd;
  const host: StreamMux = new StreamMux(hostSocket, hostSocket, {
    onOpen: (id) => host.carry(net.connect({ port: upstreamPort, host: '127.0.0.1', allowHalfOpen: true }), id),
  });
  const guest = new StreamMux(guestEnd, guestEnd);
  const listener = net.createServer({ allowHalfOpen: true }, (client) => guest.carry(client));
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const result: Rig = {
    connect: () =>
      new Promise((resolve) => {
        const socket = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1', () => resolve(socket));
      }),
    guest,
    host,
    close: () => {
      listener.close();
      portServer.close();
      upstream.close();
      guestEnd.destroy();
      hostSocket.destroy();
    },
  };
  rigs.push(result);
  return result;
}

const readAll = (socket: net.Socket) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });

describe('the stream multiplexer of the image store channel', () => {
  it('carries several streams at once, both ways, byte for byte, and ends them', async () => {
    // An echo server that answers once the request is complete (TCP's half close).
    const upstream = net.createServer({ allowHalfOpen: true }, (socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.once('end', () => socket.end(Buffer.concat(chunks).reverse()));
    });
    const { connect, guest, host } = await rig(upstream);
    const payloads = [randomBytes(10), randomBytes(3 * MAX_PAYLOAD + 17), randomBytes(2 * WINDOW + 5)];
    const answers = await Promise.all(
      payloads.map(async (payload) => {
        const socket = await connect();
        const answer = readAll(socket);
        socket.end(payload);
        return answer;
      }),
    );
    for (const [index, answer] of answers.entries()) expect(answer.equals(Buffer.from(payloads[index]!).reverse())).toBe(true);
    await until(() => guest.size === 0 && host.size === 0);
  });

  it('holds a stream back at its window while its reader does not read, and delivers all of it once it does', async () => {
    const total = 256 * WINDOW;
    let served = 0;
    const upstream = net.createServer((socket) => {
      // Writes as fast as the mux takes it: only the window can hold it back.
      const chunk = randomBytes(MAX_PAYLOAD);
      const pump = () => {
        while (served < total) {
          served += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
        socket.end();
      };
      pump();
    });
    const { connect } = await rig(upstream);
    const socket = await connect();
    socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Kernel socket buffers (a few MB per socket on loopback) and the window: far less than all of it.
    expect(served).toBeLessThan(total / 2);
    socket.resume();
    expect((await readAll(socket)).length).toBe(total);
  });

  it('ends a stream whose upstream refuses, and refuses opens when nothing may be connected', async () => {
    const upstream = net.createServer((socket) => socket.destroy());
    const { connect } = await rig(upstream);
    const socket = await connect();
    expect((await readAll(socket)).length).toBe(0);

    const [a, b] = await socketPair();
    const refusing = new StreamMux(b, b);
    const opener = new StreamMux(a, a);
    const listener = net.createServer({ allowHalfOpen: true }, (client) => opener.carry(client));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
      expect((await readAll(client)).length).toBe(0);
      expect(refusing.size).toBe(0);
    } finally {
      listener.close();
      a.destroy();
      b.destroy();
    }
  });

  it('closes the channel and every stream on a frame that is not one', async () => {
    const [a, b] = await socketPair();
    const reasons: string[] = [];
    const mux = new StreamMux(b, b, { onClose: (reason) => reasons.push(reason) });
    a.write(Buffer.from([9, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]));
    await until(() => reasons.length > 0);
    expect(reasons[0]).toMatch(/bad frame/);
    expect(mux.size).toBe(0);
    a.destroy();
    b.destroy();
  });
});

async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const a = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const b = await accepted;
  server.close();
  return [a, b];
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition(); ) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
