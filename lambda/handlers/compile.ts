/**
 * Lambda entry of the rules compile step (issue 13): invoked by the rules
 * table's DynamoDB stream, it compiles the whole table into a snapshot and
 * publishes its pointer. Config and adapters are built once per process.
 */
import { createDynamoDbClient, createS3Client } from '../commons/clients';
import { metrics } from '../commons/metrics';
import { SERVICE_NAME } from '../commons/metric-names';
import { loadTracer } from '../commons/tracing';
import { loadConfig } from '../config/config';
import { buildCompileDeps, createCompileHandler } from '../app/compile-wiring';

const config = loadConfig();

const clients = { dynamodb: createDynamoDbClient(config), s3: createS3Client(config) };

// Tracing on: the Tracer starts loading now, during init, and patches the clients; off: it is never loaded.
const tracer = config.tracing ? loadTracer(SERVICE_NAME, Object.values(clients)) : undefined;

export const handler = createCompileHandler(buildCompileDeps(config, clients), {
  flush: () => metrics.publishStoredMetrics(),
  tracer,
});
