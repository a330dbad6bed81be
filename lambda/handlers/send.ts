/**
 * Lambda entry of the queue consumer that sends bounces. Config and adapters
 * are built once per process; a bad setting stops the cold start.
 */
import { createClients } from '../commons/clients';
import { metrics } from '../commons/metrics';
import { loadConfig } from '../config/config';
import { buildSendDeps, createSendHandler } from '../app/send-wiring';

const config = loadConfig();

export const handler = createSendHandler(buildSendDeps(config, createClients(config)), {
  flush: () => metrics.publishStoredMetrics(),
  // A job may wait for up to 3 slots (first call + in-process retries): never
  // start one that the invocation's timeout could cut off while SENDING.
  reserveMs: 3 * (config.maxSlotWaitMs + 5_000),
});
