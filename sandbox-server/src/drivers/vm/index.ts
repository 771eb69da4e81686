// The VM driver's public face. See options.ts for every option.
import { VmDriver } from './vm-driver.ts';
import type { VmDriverOptions } from './options.ts';

export { VmDriver } from './vm-driver.ts';
export { InvalidVmOptionsError } from './options.ts';
export type { LogRecord, LogSink, VmDriverOptions } from './options.ts';
export type { Accelerator } from './accelerator.ts';

/** A VM driver; throws InvalidVmOptionsError naming the bad option. */
export function createVmDriver(options: VmDriverOptions = {}): VmDriver {
  return new VmDriver(options);
}
