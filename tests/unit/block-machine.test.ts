// Which machine of the page's lab a shell block runs on: a fence attribute
// {machine=node2}, <Transcript machine="node2"> (same rule), a first line
// "// Sur node2", a Hugo course's own "(node2) $" prompt; the lab's first
// machine otherwise. Naming a machine the lab lacks is a content error.
import { describe, expect, it } from 'vitest';
import { BlockMachineError, blockMachine, machineLineOf } from '../../src/lib/snippets/block-machine.ts';
import { FenceError, planShellBlock } from '../../src/lib/snippets/shell-fences.ts';

const lab = { machines: ['node1', 'node2', 'node3'], declaredIn: 'content/reseau/_index.md' };

function fenceError(fn: () => unknown): FenceError {
  try {
    fn();
  } catch (error) {
    if (error instanceof FenceError) return error;
    throw error;
  }
  throw new Error('expected a FenceError');
}

describe('routing a fenced block to a machine of the lab', () => {
  it('takes {machine=…}, then a "// Sur node2" first line, then a (node2) prompt, else the first machine', () => {
    expect(planShellBlock('bash', '{machine=node3}', '// Sur node2\n$ hostname', { lab })).toMatchObject({ kind: 'run', machine: 'node3' });
    expect(planShellBlock('bash', '', '// Sur node2\n$ hostname\nnode2', { lab })).toMatchObject({ kind: 'run', machine: 'node2' });
    expect(planShellBlock('bash', '{terminal=2}', '\n  // sur node3 :\n$ hostname', { lab })).toMatchObject({ kind: 'run', machine: 'node3', terminal: '2' });
    expect(planShellBlock('bash', '', '// Terminal 2\n// Sur node2\n$ hostname', { lab })).toMatchObject({ kind: 'run', machine: 'node2', terminal: '2' });
    expect(planShellBlock('console', '', '(node3) $ docker node ls', { lab })).toMatchObject({ kind: 'run', machine: 'node3' });
    expect(planShellBlock('bash', '', '$ hostname', { lab })).toMatchObject({ kind: 'run', machine: 'node1' });
    // A prompt that names no machine of the lab is someone's Python venv, not an error.
    expect(planShellBlock('console', '', '(venv) $ python3 -V', { lab })).toMatchObject({ kind: 'run', machine: 'node1' });
    // The line stays in the block: the reader sees which machine too.
    const plan = planShellBlock('bash', '', '// Sur node2\n$ hostname', { lab });
    expect(plan.kind === 'run' && plan.transcript.lines[0]).toEqual({ kind: 'remark', text: 'Sur node2' });
  });

  it('routes copy-only blocks too, so « Copier » and the page say the same machine', () => {
    expect(planShellBlock('console', '{machine=node2 runnable=false}', '$ docker swarm join --token T node1:2377', { lab })).toMatchObject({
      kind: 'copy-only',
      machine: 'node2',
    });
  });

  it('refuses a machine the lab does not have, saying which it has and where it is declared', () => {
    const attribute = fenceError(() => planShellBlock('bash', '{machine=node4}', '$ hostname', { lab }));
    expect(attribute.message).toBe(
      "{machine=node4}: the page's lab has no machine node4 (its machines are node1, node2, node3, from content/reseau/_index.md)",
    );
    expect(attribute.hint).toBe('name one of node1, node2, node3, or add node4 to machines: in content/reseau/_index.md');
    expect(fenceError(() => planShellBlock('bash', '', '// Sur node9\n$ hostname', { lab })).message).toMatch(
      /^"\/\/ Sur node9": the page's lab has no machine node9/,
    );
  });

  it('on a page without a lab: an explicit machine is an error, "// Sur …" is an ordinary remark, prompts are carried as before', () => {
    expect(fenceError(() => planShellBlock('bash', '{machine=node2}', '$ hostname', { lab: null })).hint).toMatch(/^add machines: \[node1, node2\]/);
    expect(planShellBlock('bash', '', '// Sur cette machine\n$ hostname', { lab: null })).toMatchObject({ kind: 'run', machine: undefined });
    expect(planShellBlock('bash', '', '// Sur node2\n$ hostname', { lab: null })).toMatchObject({ kind: 'run', machine: undefined });
    expect(planShellBlock('console', '', '(node1) $ hostname', { lab: null })).toMatchObject({ kind: 'run', machine: 'node1' });
  });

  it('without knowing the lab (no options), nothing is checked', () => {
    expect(planShellBlock('bash', '{machine=web}', '$ id')).toMatchObject({ kind: 'run', machine: 'web' });
    expect(planShellBlock('bash', '', '// Sur node2\n$ id')).toMatchObject({ kind: 'run', machine: 'node2' });
  });
});

describe('<Transcript machine> and "// Sur" lines', () => {
  it('reads "// Sur node2" only as a whole first line (after // Terminal N)', () => {
    expect(machineLineOf('// Sur node2\n$ ls')).toBe('node2');
    expect(machineLineOf('// On NODE3:\n$ ls')).toBe('node3');
    expect(machineLineOf('// Sur node2, puis sur node3\n$ ls')).toBeUndefined();
    expect(machineLineOf('$ ls\n// Sur node2')).toBeUndefined();
    expect(machineLineOf('// Terminal 2\n// Sur node2\n$ ls')).toBe('node2');
  });

  it('checks a prop as it checks a fence attribute, in the words the author wrote', () => {
    expect(() => blockMachine({ declared: 'node5', declaredAs: '<Transcript machine="node5">', code: '$ ls' }, lab)).toThrow(BlockMachineError);
    expect(() => blockMachine({ declared: 'node5', declaredAs: '<Transcript machine="node5">', code: '$ ls' }, lab)).toThrow(
      `<Transcript machine="node5">: the page's lab has no machine node5 (its machines are node1, node2, node3, from content/reseau/_index.md)`,
    );
    expect(blockMachine({ declared: 'node2', code: '// Sur node3\n$ ls' }, lab)).toBe('node2');
  });
});
