/**
 * Captures what the Powertools Logger and Metrics write. Both print through a
 * `Console` bound to `process.stdout` and `process.stderr` (INFO and EMF to
 * stdout, WARN and ERROR to stderr; one JSON document per line), so replacing
 * both streams' `write` sees exactly what CloudWatch would.
 */

/** One captured line, parsed when it is JSON. */
export interface CapturedLine {
  readonly text: string;
  readonly json?: Record<string, unknown>;
}

export interface OutputCapture {
  /** Every line written since the capture started (or the last `clear`). */
  lines(): CapturedLine[];
  /** Log entries (JSON lines with a `level`). */
  logs(): Record<string, unknown>[];
  /** EMF documents (JSON lines with `_aws.CloudWatchMetrics`). */
  emf(): Record<string, unknown>[];
  /** The raw text written. */
  text(): string;
  clear(): void;
  /** Puts both streams' `write` back. */
  restore(): void;
}

/** Starts capturing stdout and stderr, interleaved in order; nothing reaches the terminal until `restore()`. */
export function captureOutput(): OutputCapture {
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((s) => s.write);
  let chunks: string[] = [];
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      // Keep lines whole: a chunk from one stream never splits a line of the other.
      chunks.push(text.endsWith('\n') ? text : `${text}\n`);
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  }

  const lines = (): CapturedLine[] =>
    chunks
      .join('')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((text) => {
        try {
          const json = JSON.parse(text) as unknown;
          return json !== null && typeof json === 'object' && !Array.isArray(json) ? { text, json: json as Record<string, unknown> } : { text };
        } catch {
          return { text };
        }
      });
  return {
    lines,
    logs: () => lines().flatMap((l) => (l.json && 'level' in l.json ? [l.json] : [])),
    emf: () => lines().flatMap((l) => (l.json && '_aws' in l.json ? [l.json] : [])),
    text: () => chunks.join(''),
    clear: () => {
      chunks = [];
    },
    restore: () => {
      streams.forEach((s, i) => (s.write = originals[i]));
    },
  };
}
