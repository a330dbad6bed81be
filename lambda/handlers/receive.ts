/**
 * Lambda entry that the SES receipt rule's Lambda action invokes (after its
 * S3 action stored the message). Config, clients and adapters are built once
 * per process; a bad setting stops the cold start.
 */
import { createDynamoDbClient, createS3Client, createSqsClient } from '../commons/clients';
import { metrics } from '../commons/metrics';
import { loadConfig } from '../config/config';
import { buildReceiveDeps, createReceiveHandler } from '../app/receive-wiring';

const config = loadConfig();

// Only the clients this function uses: the SES client stays out of the bundle.
const clients = { dynamodb: createDynamoDbClient(config), s3: createS3Client(config), sqs: createSqsClient(config) };

export const handler = createReceiveHandler(buildReceiveDeps(config, clients), {
  flush: () => metrics.publishStoredMetrics(),
});
