/**
 * A Lambda `Context` as the runtime passes it, for handler tests, and the
 * logger/metrics stand-ins of handlers whose per-invocation context a test
 * does not look at.
 */
import type { Context } from 'aws-lambda';
import type { ColdStartMetric, LogContext } from '../../lambda/app/invocation';

/** A context for function `name`; `overrides` replace fields (e.g. `getRemainingTimeInMillis`). */
export function lambdaContext(overrides: Partial<Context> = {}, name = 'ses-bouncer-test'): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:111122223333:function:${name}`,
    memoryLimitInMB: '256',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: '2026/01/01/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
    ...overrides,
  };
}

/** Logger context that drops everything. */
export const SILENT_LOG_CONTEXT: LogContext = {
  addContext: () => undefined,
  appendKeys: () => undefined,
  removeKeys: () => undefined,
  setCorrelationId: () => undefined,
};

/** Cold-start metric that emits nothing. */
export const NO_COLD_START_METRIC: ColdStartMetric = { captureColdStartMetric: () => undefined };
