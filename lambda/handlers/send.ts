/**
 * Lambda entry of the queue consumer that sends bounces. Config and adapters
 * are built once per process; a bad setting stops the cold start.
 */
import { createDynamoDbClient, createSesClient, createSqsClient, SEND_REQUEST_LIMITS } from '../commons/clients';
import { metrics } from '../commons/metrics';
import { SERVICE_NAME } from '../commons/metric-names';
import { loadTracer } from '../commons/tracing';
import { loadConfig } from '../config/config';
import { buildSendDeps, createSendHandler, sendReserveMs } from '../app/send-wiring';

const config = loadConfig();

// Only the clients this function uses: the S3 client stays out of the bundle.
// Every request bounded, so that a job's worst case is known (send-bounce jobTailMs).
const clients = {
  dynamodb: createDynamoDbClient(config, SEND_REQUEST_LIMITS),
  ses: createSesClient(config),
  sqs: createSqsClient(config, SEND_REQUEST_LIMITS),
};

// Tracing on: the Tracer starts loading now, during init, and patches the clients; off: it is never loaded.
const tracer = config.tracing ? loadTracer(SERVICE_NAME, Object.values(clients)) : undefined;

export const handler = createSendHandler(buildSendDeps(config, clients), {
  flush: () => metrics.publishStoredMetrics(),
  tracer,
  // Never start a job that the invocation's timeout could cut off while SENDING.
  reserveMs: sendReserveMs({ sesCallMaxMs: config.sesRequestTimeoutMs + 1_000 }),
});
