import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { agentSources } from '../../sandbox-server/src/rootfs/agent-build.ts';
import { boundaryViolations } from '../support/boundaries.ts';
import { importSpecifiers, importsOf, resolveImport, sourceFiles } from '../support/import-graph.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(`${ROOT}/${path}`, 'utf8');

describe('import boundaries of this repository', () => {
  it('browser, server, agent and contracts meet only where they may', () => {
    const files = sourceFiles(ROOT);
    // The walk must see the four runtimes, or the check below proves nothing.
    for (const dir of ['src/', 'sandbox-server/src/', 'sandbox-server/agent/', 'contracts/']) expect(files.some((f) => f.startsWith(dir))).toBe(true);
    expect(boundaryViolations(files, importsOf(ROOT, files), { agentFiles: agentSources(), read })).toEqual([]);
  });
});

describe('import boundary rules', () => {
  const sources: Record<string, string> = {
    'contracts/good.ts': "import { z } from 'zod';\nexport const A = z.string();\n",
    'contracts/node.ts': 'export const size = () => process.stdout.columns;\n',
  };
  const options = { agentFiles: ['sandbox-server/agent/main.ts', 'contracts/agent-protocol.ts'], read: (path: string) => sources[path] ?? '' };
  const check = (from: string, specifier: string, files: string[] = [from]) => boundaryViolations(files, [resolveImport(from, specifier)], options);

  it('refuses server code in the browser and browser code in the server', () => {
    expect(check('src/client/a.ts', '../../sandbox-server/src/protocol.ts')).toEqual([
      "src/client/a.ts imports '../../sandbox-server/src/protocol.ts': the browser must not load server code; move what both need to contracts/",
    ]);
    expect(check('sandbox-server/src/ws/a.ts', '../../../src/client/osc133.ts')).toEqual([
      "sandbox-server/src/ws/a.ts imports '../../../src/client/osc133.ts': the server must not load browser code; move what both need to contracts/",
    ]);
    expect(check('src/client/a.ts', '../../contracts/agent-protocol.ts')).toHaveLength(1);
  });

  it('keeps contracts free of runtimes and of Node', () => {
    expect(check('contracts/a.ts', '../sandbox-server/src/config.ts')).toEqual([
      "contracts/a.ts imports '../sandbox-server/src/config.ts': contracts/ depends on no runtime: import only other contracts",
    ]);
    expect(check('contracts/a.ts', 'node:fs')).toEqual(["contracts/a.ts imports 'node:fs': contracts/ must run in a browser: no Node modules"]);
    expect(check('contracts/a.ts', 'pino')).toEqual(["contracts/a.ts imports 'pino': contracts/ may use only zod"]);
    expect(check('contracts/good.ts', 'zod')).toEqual([]);
    expect(boundaryViolations(['contracts/node.ts'], [], options)).toEqual(['contracts/node.ts:1 uses a Node global: contracts/ must run in a browser']);
  });

  it('holds the agent to what the machine contains', () => {
    expect(check('sandbox-server/agent/a.ts', '../src/log.ts')).toHaveLength(1);
    expect(check('sandbox-server/agent/a.ts', 'pino')).toHaveLength(1);
    expect(check('sandbox-server/agent/a.ts', '../../contracts/agent-protocol.ts')).toEqual([]);
    expect(check('sandbox-server/agent/a.ts', 'node-pty')).toHaveLength(1);
    expect(check('contracts/agent-protocol.ts', './protocol.ts')).toEqual([
      "contracts/agent-protocol.ts imports './protocol.ts': copied into the machine, so it may import only what is copied with it",
    ]);
  });

  it('finds every form of import, and none in comments', () => {
    const source = [
      "import a from './a.ts';",
      "import {\n  b,\n  c,\n} from './b.ts';",
      "import type { D } from '../d.ts';",
      "export { e } from './e.ts';",
      "import './side.css';",
      "const f = await import('./f.ts');",
      "// import g from './g.ts';",
      "/* import h from './h.ts'; */",
      "const url = '../styles/x.css?url';",
    ].join('\n');
    expect(importSpecifiers(source).sort()).toEqual(['../d.ts', './a.ts', './b.ts', './e.ts', './f.ts', './side.css'].sort());
    expect(resolveImport('src/client/t.ts', '../styles/x.css?url').target).toBe('src/styles/x.css');
  });
});
