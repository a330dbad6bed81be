/**
 * Measurements in fresh `node` processes: a clean module cache for cold
 * starts and a clean peak RSS for memory. A child reads its input as JSON
 * from argv[2] and prints its result as one JSON line on stdout.
 */
import { spawn } from 'node:child_process';
import { build } from 'esbuild';

export interface ChildRun<T> {
  readonly result: T;
  /** Wall time of the whole process, spawn to exit, ms. */
  readonly wallMs: number;
}

/**
 * Runs `node <script> <json input>` and returns the last stdout line parsed.
 * Fails with the child's stderr when it exits non-zero or prints no JSON.
 */
export function runNodeChild<T>(
  script: string,
  input: unknown,
  options: { env?: Record<string, string>; nodeArgs?: readonly string[]; timeoutMs?: number } = {},
): Promise<ChildRun<T>> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, JSON.stringify(input)], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 300_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0) {
        reject(new Error(`child ${script} exited with ${code ?? signal}: ${stderr.trim().slice(-2000)}`));
        return;
      }
      try {
        resolve({ result: JSON.parse(last) as T, wallMs });
      } catch {
        reject(new Error(`child ${script} printed no JSON result (stdout ${JSON.stringify(last.slice(0, 200))}; stderr ${stderr.trim().slice(-1000)})`));
      }
    });
  });
}

/**
 * Bundles a TypeScript child entry (bench/children/*) into one self-contained
 * CommonJS file, so the child needs neither a TypeScript loader nor
 * node_modules and its memory holds only what it runs.
 */
export async function bundleChild(entry: string, outfile: string): Promise<string> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
  });
  return outfile;
}
