/**
 * Lambda entry that the SES receipt rule's Lambda action invokes (after its
 * S3 action stored the message). Config, clients and adapters are built once
 * per process; a bad setting stops the cold start.
 */
import { createClients } from '../commons/clients';
import { metrics } from '../commons/metrics';
import { loadConfig } from '../config/config';
import { buildReceiveDeps, createReceiveHandler } from '../app/receive-wiring';

const config = loadConfig();

export const handler = createReceiveHandler(buildReceiveDeps(config, createClients(config)), {
  flush: () => metrics.publishStoredMetrics(),
});
