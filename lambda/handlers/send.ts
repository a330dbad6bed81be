/**
 * Lambda entry of the queue consumer that sends bounces. Config and adapters
 * are built once per process; a bad setting stops the cold start.
 */
import { createDynamoDbClient, createSesClient, createSqsClient } from '../commons/clients';
import { metrics } from '../commons/metrics';
import { loadConfig } from '../config/config';
import { buildSendDeps, createSendHandler, sendReserveMs } from '../app/send-wiring';

const config = loadConfig();

// Only the clients this function uses: the S3 client stays out of the bundle.
const clients = { dynamodb: createDynamoDbClient(config), ses: createSesClient(config), sqs: createSqsClient(config) };

export const handler = createSendHandler(buildSendDeps(config, clients), {
  flush: () => metrics.publishStoredMetrics(),
  // Never start a job that the invocation's timeout could cut off while SENDING.
  reserveMs: sendReserveMs({ sesCallMaxMs: config.sesRequestTimeoutMs + 1_000 }),
});
