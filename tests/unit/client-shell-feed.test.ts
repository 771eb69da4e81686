import { describe, expect, it } from 'vitest';
import { RunQueue } from '../../src/client/run-queue.ts';
import { ShellFeed } from '../../src/client/shell-feed.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const PROMPT = '\x1b]133;A\x07student@tp-docker:~$ \x1b]133;B\x07';

function setup() {
  const queue = new RunQueue({ type: () => undefined });
  return { queue, feed: new ShellFeed(queue) };
}

describe('ShellFeed', () => {
  it('learns the phase from the replay only once all of it has arrived, in any number of chunks', () => {
    const { queue, feed } = setup();
    queue.resync('busy');
    const replay = bytes(`ls\r\n${PROMPT}`);
    feed.attached({ replayBytes: replay.length });
    feed.output(replay.subarray(0, 10), true);
    expect(queue.phase).toBe('busy');
    feed.output(replay.subarray(10), true);
    expect(queue.phase).toBe('prompt');
  });

  it('feeds live marks to the queue one by one', () => {
    const { queue, feed } = setup();
    feed.attached({ replayBytes: 0 });
    expect(queue.phase).toBe('starting');
    feed.output(bytes('\x1b]133;C\x07'), false);
    expect(queue.phase).toBe('busy');
    feed.output(bytes('\x1b]133;D;0\x07\x1b]133;A'), false);
    expect(queue.phase).toBe('finished');
    // The mark split across two chunks is still read.
    feed.output(bytes('\x07$ \x1b]133;B\x07'), false);
    expect(queue.phase).toBe('prompt');
  });

  it('takes a replay without any mark for a shell flooded with output (busy)', () => {
    const { queue, feed } = setup();
    const flood = bytes('y\r\n'.repeat(100));
    feed.attached({ replayBytes: flood.length });
    feed.output(flood, true);
    expect(queue.phase).toBe('busy');
  });

  it('forgets a mark half-read on the previous connection', () => {
    const { queue, feed } = setup();
    feed.attached({ replayBytes: 0 });
    feed.output(bytes('\x1b]133;'), false);
    feed.attached({ replayBytes: 0 });
    feed.output(bytes('B\x07'), false);
    expect(queue.phase).toBe('starting');
  });
});
