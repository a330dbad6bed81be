import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A full garbage collection, with or without `--expose-gc`: the flag can be
 * set at run time, and a fresh context then sees the `gc` function.
 */
export const fullGc: () => void = (() => {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** Heap in use after a full collection, bytes. */
export function settledHeapUsed(): number {
  fullGc();
  fullGc();
  return process.memoryUsage().heapUsed;
}
