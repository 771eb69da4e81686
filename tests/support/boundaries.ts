// The import rules between the runtimes. The browser (src/) and the server
// (sandbox-server/) meet only in contracts/; contracts/ depends on neither and
// runs in a browser; the agent runs inside a machine where only its own folder,
// the contracts the agent build copies and Node's builtins exist.
import { type Import, isNodeBuiltin } from './import-graph.ts';

export interface BoundaryOptions {
  /** Files copied into a machine beside sandbox-server/agent/ (agent-build.ts's list). */
  agentFiles: string[];
  /** Reads a file's source (relative to the root), for the check of Node globals. */
  read(path: string): string;
}

/** Packages contracts/ may use: they must load in a browser and in Node. */
export const CONTRACT_PACKAGES = ['zod'];
/** Packages the agent finds inside a machine (agent-files.ts mounts them): none, its terminals are the keeper's (terminal-keeper.c). */
export const AGENT_PACKAGES: string[] = [];
/**
 * Contracts spoken only between Node processes (host ↔ agent): they may use
 * Node's globals (Buffer) and the browser must never load them.
 */
export const NODE_SIDE_CONTRACTS = ['contracts/agent-protocol.ts'];

const NODE_GLOBALS = /\b(?:Buffer|process|__dirname|__filename|require)\s*[.([]/;

const under = (dir: string, path: string | undefined) => path?.startsWith(`${dir}/`) === true;

/** One line per import that crosses a boundary; empty when the tree is sound. */
export function boundaryViolations(files: string[], imports: Import[], options: BoundaryOptions): string[] {
  const problems: string[] = [];
  const refuse = (i: Import, why: string) => problems.push(`${i.from} imports '${i.specifier}': ${why}`);
  for (const i of imports) {
    if (under('src', i.from) && under('sandbox-server', i.target)) refuse(i, 'the browser must not load server code; move what both need to contracts/');
    if (under('src', i.from) && i.target !== undefined && NODE_SIDE_CONTRACTS.includes(i.target))
      refuse(i, 'this contract is spoken between Node processes only');
    if (under('sandbox-server', i.from) && under('src', i.target)) refuse(i, 'the server must not load browser code; move what both need to contracts/');
    if (under('contracts', i.from)) {
      if (i.target !== undefined && !under('contracts', i.target)) refuse(i, 'contracts/ depends on no runtime: import only other contracts');
      if (i.packageName !== undefined && isNodeBuiltin(i.packageName)) refuse(i, 'contracts/ must run in a browser: no Node modules');
      else if (i.packageName !== undefined && !CONTRACT_PACKAGES.includes(i.packageName)) refuse(i, `contracts/ may use only ${CONTRACT_PACKAGES.join(', ')}`);
    }
    if (under('sandbox-server/agent', i.from)) {
      if (i.target !== undefined && !under('sandbox-server/agent', i.target) && !options.agentFiles.includes(i.target)) {
        refuse(i, 'the agent runs inside the machine, where only its own folder and the files agent-build.ts copies exist');
      }
      if (i.packageName !== undefined && !isNodeBuiltin(i.packageName) && !AGENT_PACKAGES.includes(i.packageName)) {
        refuse(i, `inside the machine the agent finds only Node's builtins and ${AGENT_PACKAGES.join(', ')}`);
      }
    }
    // What the agent build copies must itself load in the machine.
    if (options.agentFiles.includes(i.from) && !under('sandbox-server/agent', i.from)) {
      if (i.target !== undefined && !options.agentFiles.includes(i.target)) refuse(i, 'copied into the machine, so it may import only what is copied with it');
      if (i.packageName !== undefined && !isNodeBuiltin(i.packageName) && !AGENT_PACKAGES.includes(i.packageName))
        refuse(i, 'copied into the machine, where this package is missing');
    }
  }
  for (const file of files) {
    if (!under('contracts', file) || NODE_SIDE_CONTRACTS.includes(file)) continue;
    const line = options
      .read(file)
      .split('\n')
      .findIndex((text) => !/^\s*(\/\/|\*)/.test(text) && NODE_GLOBALS.test(text));
    if (line >= 0) problems.push(`${file}:${line + 1} uses a Node global: contracts/ must run in a browser`);
  }
  return problems;
}
