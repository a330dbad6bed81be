/**
 * What every handler does around its work, the way Powertools users expect
 * it: the Lambda context on every log line (`function_request_id`,
 * `cold_start`, ...), a `ColdStart` metric once per process, the SES message
 * id as the correlation id while one message is handled, and (when tracing is
 * on) one X-Ray subsegment per invocation and per message.
 */
import type { Context } from 'aws-lambda';
import { logger as defaultLogger } from '../commons/logger';
import { metrics as defaultMetrics } from '../commons/metrics';
import type { InvocationTracer } from '../commons/tracing';

/** The logger features the handlers use for context; the project logger fits. */
export interface LogContext {
  addContext(context: Context): void;
  appendKeys(keys: Record<string, string>): void;
  removeKeys(keys: string[]): void;
  setCorrelationId(value: string): void;
}

/** The metrics feature the handlers use at each invocation; the project metrics instance fits. */
export interface ColdStartMetric {
  /** Emits `ColdStart` (dimension `function_name`) on a process's first invocation only. */
  captureColdStartMetric(functionName?: string): void;
}

/** Key Powertools Logger writes the correlation id under (`setCorrelationId`). */
export const CORRELATION_ID_KEY = 'correlation_id';

/** Options every handler factory accepts. */
export interface InvocationOptions {
  /** @default the project logger */
  readonly logContext?: LogContext;
  /** @default the project metrics instance */
  readonly coldStart?: ColdStartMetric;
  /** Present when tracing is on: the handler module starts loading it at init. @default no tracing */
  readonly tracer?: Promise<InvocationTracer>;
}

/** One invocation's helpers, from {@link beginInvocation}. */
export interface Invocation {
  /** Runs the handler's work, in the invocation's subsegment when tracing is on. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Runs one message's work with `messageId` and the correlation id set, then removes both. */
  forMessage<T>(messageId: string, work: () => Promise<T>): Promise<T>;
}

/**
 * Starts an invocation: attaches the Lambda context to the logs and captures
 * the cold-start metric (both only when Lambda passed a context: local mode
 * and tests call the handlers without one).
 */
export async function beginInvocation(options: InvocationOptions, context: Context | undefined, name: string): Promise<Invocation> {
  const log = options.logContext ?? defaultLogger;
  if (context) {
    log.addContext(context);
    (options.coldStart ?? defaultMetrics).captureColdStartMetric(context.functionName);
  }
  const tracer = options.tracer ? await options.tracer : undefined;
  return {
    run: (work) => (tracer ? tracer.trace(`## ${name}`, work) : work()),
    async forMessage(messageId, work) {
      log.appendKeys({ messageId });
      log.setCorrelationId(messageId);
      try {
        if (!tracer) return await work();
        return await tracer.trace('message', () => {
          tracer.annotate('messageId', messageId);
          return work();
        });
      } finally {
        log.removeKeys(['messageId', CORRELATION_ID_KEY]);
      }
    },
  };
}
