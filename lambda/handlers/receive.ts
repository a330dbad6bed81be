/**
 * Lambda entry that the SES receipt rule's Lambda action invokes (after its
 * S3 action stored the message). Config, clients and adapters are built once
 * per process; a bad setting stops the cold start.
 */
import { createDynamoDbClient, createS3Client, createSqsClient } from '../commons/clients';
import { metrics } from '../commons/metrics';
import { SERVICE_NAME } from '../commons/metric-names';
import { loadTracer } from '../commons/tracing';
import { loadConfig } from '../config/config';
import { buildReceiveDeps, createReceiveHandler } from '../app/receive-wiring';

const config = loadConfig();

// Only the clients this function uses: the SES client stays out of the bundle.
const clients = { dynamodb: createDynamoDbClient(config), s3: createS3Client(config), sqs: createSqsClient(config) };

// Tracing on: the Tracer starts loading now, during init, and patches the clients; off: it is never loaded.
const tracer = config.tracing ? loadTracer(SERVICE_NAME, Object.values(clients)) : undefined;

export const handler = createReceiveHandler(buildReceiveDeps(config, clients), {
  flush: () => metrics.publishStoredMetrics(),
  tracer,
});
