import { describe, expect, it } from 'vitest';
import { Osc133Parser, parseOsc133Payload } from '../../contracts/osc133.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('Osc133Parser', () => {
  it('finds prompt, command and finish marks terminated by BEL or ESC \\', () => {
    const parser = new Osc133Parser();
    const marks = parser.push(bytes('\x1b]133;D;0\x07\x1b]133;A\x07student@tp-docker:~$ \x1b]133;B\x1b\\hostname\r\n\x1b]133;C\x07tp-docker\r\n'));
    expect(marks).toEqual([{ kind: 'D', status: 0 }, { kind: 'A' }, { kind: 'B' }, { kind: 'C' }]);
  });

  it('keeps its state across chunks, even inside a mark', () => {
    const parser = new Osc133Parser();
    const text = 'output\x1b]133;D;130\x1b\\more';
    const found = [];
    for (const char of text) found.push(...parser.push(bytes(char)));
    expect(found).toEqual([{ kind: 'D', status: 130 }]);
  });

  it('ignores other OSC sequences and other escapes', () => {
    const parser = new Osc133Parser();
    const marks = parser.push(bytes('\x1b]0;student@tp-docker: ~\x07\x1b[1;32mgreen\x1b[0m\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\x1b]1337;foo\x07'));
    expect(marks).toEqual([]);
  });

  it('skips an overlong OSC payload without losing the next mark', () => {
    const parser = new Osc133Parser();
    const marks = parser.push(bytes(`\x1b]133;A;${'x'.repeat(500)}\x07\x1b]133;B\x07`));
    expect(marks).toEqual([{ kind: 'B' }]);
  });

  it('drops a sequence cancelled by CAN and one interrupted by a new escape', () => {
    const parser = new Osc133Parser();
    expect(parser.push(bytes('\x1b]133;C\x18\x1b]133;\x1b]133;D;1\x07'))).toEqual([{ kind: 'D', status: 1 }]);
  });

  it('handles ESC ESC ] and UTF-8 text around marks', () => {
    const parser = new Osc133Parser();
    expect(parser.push(bytes('é\x1b\x1b]133;A\x07ü'))).toEqual([{ kind: 'A' }]);
  });

  it('forgets a half-read mark on reset (a new connection)', () => {
    const parser = new Osc133Parser();
    parser.push(bytes('\x1b]133;'));
    parser.reset();
    expect(parser.push(bytes('D;0\x07'))).toEqual([]);
  });
});

describe('parseOsc133Payload', () => {
  it('reads the status of D marks and tolerates options', () => {
    expect(parseOsc133Payload('133;D;2')).toEqual({ kind: 'D', status: 2 });
    expect(parseOsc133Payload('133;D')).toEqual({ kind: 'D' });
    expect(parseOsc133Payload('133;D;aid=7')).toEqual({ kind: 'D' });
    expect(parseOsc133Payload('133;A;cl=m')).toEqual({ kind: 'A' });
    expect(parseOsc133Payload('133;E;ls')).toBeUndefined();
    expect(parseOsc133Payload('7;file:///tmp')).toBeUndefined();
  });
});
