/**
 * Optional X-Ray tracing through Powertools Tracer. The Tracer (and the X-Ray
 * SDK under it) is a lazy package (lib/assets.ts FUNCTIONS): it is reached
 * only through `import()` below, so a function deployed with tracing off
 * never loads or parses it and its cold start does not pay for it
 * (BENCHMARKS.md, figure 1, measures what it costs when on).
 */

/** What the handlers need from a tracer: one subsegment per unit of work, annotations on it. */
export interface InvocationTracer {
  /** Runs `work` in a subsegment named `name` (closed whatever happens; an error is recorded on it). */
  trace<T>(name: string, work: () => Promise<T>): Promise<T>;
  /** Indexed annotation on the current subsegment, e.g. `messageId` (never mail content). */
  annotate(key: string, value: string): void;
}

/**
 * Loads Powertools Tracer, patches the given SDK v3 clients (one subsegment
 * per AWS call) and returns the handlers' tracer. Called at module scope of
 * a handler when the `TRACING` setting is on; outside Lambda the Tracer
 * disables itself and `trace` only runs the work.
 */
export async function loadTracer(serviceName: string, clients: readonly object[]): Promise<InvocationTracer> {
  const { Tracer } = await import('@aws-lambda-powertools/tracer');
  // Responses carry decisions and addresses: never put them in trace metadata.
  const tracer = new Tracer({ serviceName, captureHTTPsRequests: false });
  for (const client of clients) tracer.captureAWSv3Client(client);
  let depth = 0;
  return {
    async trace(name, work) {
      const parent = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
      if (!parent) return work();
      const sub = parent.addNewSubsegment(name);
      tracer.setSegment(sub);
      if (depth === 0) {
        // The handler's subsegment carries ColdStart and Service annotations, as captureLambdaHandler's does.
        tracer.annotateColdStart();
        tracer.addServiceNameAnnotation();
      }
      depth++;
      try {
        return await work();
      } catch (error) {
        if (error instanceof Error) tracer.addErrorAsMetadata(error);
        throw error;
      } finally {
        depth--;
        sub.close();
        tracer.setSegment(parent);
      }
    },
    annotate(key, value) {
      if (tracer.isTracingEnabled()) tracer.putAnnotation(key, value);
    },
  };
}
