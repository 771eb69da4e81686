// The namespace driver's public face. See options.ts for every option.
import { NamespaceDriver } from './driver.ts';
import type { NamespaceDriverOptions } from './options.ts';

export { NamespaceDriver } from './driver.ts';
export type { ExecResult, NamespaceSandbox } from './sandbox.ts';
export { DEFAULT_LIMITS, InvalidOptionsError, jsonLinesToStderr } from './options.ts';
export type { LogRecord, LogSink, NamespaceDriverOptions } from './options.ts';

/** A namespace driver; throws InvalidOptionsError naming the bad option. */
export function createNamespaceDriver(options: NamespaceDriverOptions = {}): NamespaceDriver {
  return new NamespaceDriver(options);
}
