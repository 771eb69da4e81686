import { describe, expect, it } from 'vitest';
import { FlowControl } from '../../sandbox-server/src/manager/flow-control.ts';

function recorder() {
  const events: string[] = [];
  return { events, handlers: { pause: () => events.push('pause'), resume: () => events.push('resume') } };
}

describe('FlowControl', () => {
  it('pauses once when unacknowledged bytes pass the high watermark', () => {
    const { events, handlers } = recorder();
    const flow = new FlowControl(100, 10, handlers);
    flow.sent(60);
    flow.sent(40);
    expect(events).toEqual([]); // exactly at HIGH is still fine
    flow.sent(1);
    flow.sent(500);
    expect(events).toEqual(['pause']);
    expect(flow.paused).toBe(true);
    expect(flow.unacked).toBe(601);
  });

  it('resumes only once acknowledgements bring it below the low watermark', () => {
    const { events, handlers } = recorder();
    const flow = new FlowControl(100, 10, handlers);
    flow.sent(150);
    flow.acked(100);
    expect(flow.unacked).toBe(50);
    expect(events).toEqual(['pause']); // between LOW and HIGH: stays paused (hysteresis)
    flow.acked(41);
    expect(events).toEqual(['pause', 'resume']);
    expect(flow.paused).toBe(false);
  });

  it('clamps acknowledgements of more than was sent', () => {
    const { handlers } = recorder();
    const flow = new FlowControl(100, 10, handlers);
    flow.sent(20);
    flow.acked(1_000_000);
    expect(flow.unacked).toBe(0);
    flow.sent(101);
    expect(flow.paused).toBe(true); // no credit was banked by the over-ack
  });

  it('reset forgets the count and resumes a paused stream', () => {
    const { events, handlers } = recorder();
    const flow = new FlowControl(100, 10, handlers);
    flow.sent(200);
    flow.reset();
    expect(events).toEqual(['pause', 'resume']);
    expect(flow.unacked).toBe(0);
    flow.reset();
    expect(events).toEqual(['pause', 'resume']);
  });

  it('refuses watermarks in the wrong order', () => {
    const { handlers } = recorder();
    expect(() => new FlowControl(10, 10, handlers)).toThrow(/low < high/);
  });
});
