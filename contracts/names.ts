// Names and ids that cross hops: terminal names (in URLs, agent frames and
// cgroup paths inside the machine) and machine ids (in URLs, cookies and
// host-side resource names). One rule each, used by the page, the server,
// the drivers and the agent alike.
//
// Plain TypeScript, no imports (see sizes.ts for why).

/**
 * Terminal names: short, lowercase, e.g. "1", "2", "main". Safe as a path
 * component and a cgroup name inside the machine.
 */
export const TERMINAL_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,15}$/;
export const TERMINAL_NAME_RULE = '1–16 characters of a-z, 0-9 and "-", starting with a letter or digit';

/** Why `name` cannot name a terminal (English, for logs and developers); undefined when it can. */
export function terminalNameProblem(name: unknown): string | undefined {
  if (typeof name === 'string' && TERMINAL_NAME_PATTERN.test(name)) return undefined;
  return `a terminal name is ${TERMINAL_NAME_RULE}, got ${shortJson(name)}`;
}

/** Sandbox ids as the server issues them: 128 random bits in lowercase hex. */
export const SANDBOX_ID_PATTERN = /^[0-9a-f]{32}$/;
export const SANDBOX_ID_RULE = '32 lowercase hex digits';

export function isSandboxId(value: unknown): value is string {
  return typeof value === 'string' && SANDBOX_ID_PATTERN.test(value);
}

/**
 * What a driver accepts as a machine's id: it names host-side resources
 * (cgroups, run directories, unix sockets, QEMU's -name), so it must be a
 * plain, short path component. Every SANDBOX_ID is one; tests and tools use
 * readable ones ("test-isolation-1a2b3c").
 */
export const MACHINE_ID_PATTERN = /^[A-Za-z0-9_-]{1,48}$/;

/** Why `id` cannot name a machine (English, for logs and developers); undefined when it can. */
export function machineIdProblem(id: unknown): string | undefined {
  if (typeof id === 'string' && MACHINE_ID_PATTERN.test(id)) return undefined;
  return `sandbox id must match ${MACHINE_ID_PATTERN}, got ${shortJson(id)}`;
}

function shortJson(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
