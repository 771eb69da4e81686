import { describe, expect, it } from 'vitest';
import { FLOW_ACK_EVERY_BYTES, FLOW_HIGH_WATERMARK } from '../../contracts/protocol.ts';
import { AckCounter } from '../../src/client/ack-counter.ts';
import { FlowControl } from '../../sandbox-server/src/manager/flow-control.ts';

describe('AckCounter (flow control, browser side)', () => {
  it('acknowledges only bytes xterm has written, in batches of the protocol threshold', () => {
    const acks: number[] = [];
    const counter = new AckCounter((bytes) => acks.push(bytes));
    const epoch = counter.epoch;
    counter.handed(FLOW_ACK_EVERY_BYTES);
    counter.handed(10);
    expect(counter.inFlight).toBe(FLOW_ACK_EVERY_BYTES + 10);
    expect(acks).toEqual([]); // handed to xterm is not written

    counter.wrote(FLOW_ACK_EVERY_BYTES - 1, epoch);
    expect(acks).toEqual([]);
    counter.wrote(1, epoch);
    expect(acks).toEqual([FLOW_ACK_EVERY_BYTES]);
    expect(counter.inFlight).toBe(10);
    counter.wrote(10, epoch);
    expect(counter.unacknowledged).toBe(10);
    counter.flush();
    expect(acks).toEqual([FLOW_ACK_EVERY_BYTES, 10]);
    counter.flush();
    expect(acks).toHaveLength(2);
  });

  it('ignores write callbacks from a previous connection', () => {
    const acks: number[] = [];
    const counter = new AckCounter((bytes) => acks.push(bytes), 100);
    const old = counter.epoch;
    counter.handed(500);
    counter.reset();
    counter.wrote(500, old);
    expect(acks).toEqual([]);
    expect(counter.inFlight).toBe(0);
    counter.handed(100);
    counter.wrote(100, counter.epoch);
    expect(acks).toEqual([100]);
  });

  it('keeps a flood paused on the server while xterm lags, and resumes it once xterm catches up', () => {
    const events: string[] = [];
    const server = new FlowControl(FLOW_HIGH_WATERMARK, 16 * 1024, { pause: () => events.push('pause'), resume: () => events.push('resume') });
    const counter = new AckCounter((bytes) => server.acked(bytes));
    const frame = 32 * 1024;
    const queue: number[] = [];
    // The server sends until it pauses; every frame reaches the page but xterm writes nothing yet.
    while (!server.paused) {
      server.sent(frame);
      counter.handed(frame);
      queue.push(frame);
    }
    expect(events).toEqual(['pause']);
    expect(counter.inFlight).toBeGreaterThan(FLOW_HIGH_WATERMARK);
    // xterm writes the backlog: acks flow back and the server resumes only when little is left.
    while (queue.length > 0) counter.wrote(queue.shift()!, counter.epoch);
    expect(events).toEqual(['pause', 'resume']);
    expect(server.unacked).toBeLessThan(FLOW_ACK_EVERY_BYTES);
  });
});
