/**
 * What a command may touch of the outside world besides AWS: its output
 * streams, its environment and standard input. `run()` takes these as
 * arguments so tests drive the CLI in-process and read what it printed.
 */

/** A text sink; `process.stdout` and `process.stderr` fit. */
export interface TextSink {
  write(text: string): unknown;
}

export interface CliIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  /** Environment the CLI reads its own settings from (`SES_BOUNCER_*`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whole standard input as text, for `rules put -`. */
  readonly readStdin: () => Promise<string>;
}

/** Reads all of `process.stdin` as UTF-8. */
export async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/** The real process's streams and environment. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, readStdin: readProcessStdin };
}

/** Writes `text` followed by a newline. */
export function println(sink: TextSink, text = ''): void {
  sink.write(`${text}\n`);
}
