/**
 * Lambda entry of the scheduled sweep (issue 12, defect 3): re-enqueues
 * stale PENDING claims, expires those past 24 h, marks dead SENDING items
 * UNKNOWN. Config and adapters are built once per process.
 */
import { createDynamoDbClient, createSqsClient } from '../commons/clients';
import { metrics } from '../commons/metrics';
import { SERVICE_NAME } from '../commons/metric-names';
import { loadTracer } from '../commons/tracing';
import { loadConfig } from '../config/config';
import { buildSweepDeps, createSweepHandler } from '../app/sweep-wiring';

const config = loadConfig();

const clients = { dynamodb: createDynamoDbClient(config), sqs: createSqsClient(config) };

// Tracing on: the Tracer starts loading now, during init, and patches the clients; off: it is never loaded.
const tracer = config.tracing ? loadTracer(SERVICE_NAME, Object.values(clients)) : undefined;

export const handler = createSweepHandler(buildSweepDeps(config, clients), {
  flush: () => metrics.publishStoredMetrics(),
  tracer,
});
