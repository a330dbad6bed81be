/**
 * What the load scripts under bench/load share: polling with a deadline, and
 * how a script reports its checks and ends (exit code 1 when any failed).
 */

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` every `everyMs` until it returns a value; throws after `timeoutMs`. */
export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function fail(message: string): never {
  throw new Error(message);
}

/** Prints the verdict of a script's checks; a failed check sets exit code 1. */
export function reportChecks(name: string, failures: readonly string[]): void {
  if (failures.length) {
    process.stderr.write(`${name}: FAILED\n  ${failures.join('\n  ')}\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write(`${name}: every check passed\n`);
  }
}

/** Runs a script's main; an unexpected error prints its stack and exits 1. */
export function runScript(name: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(`${name}: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
