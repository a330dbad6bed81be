/**
 * Lambda entry of the queue consumer that sends bounces. Config and adapters
 * are built once per process; a bad setting stops the cold start.
 */
import { createClients } from '../commons/clients';
import { metrics } from '../commons/metrics';
import { loadConfig } from '../config/config';
import { buildSendDeps, createSendHandler, sendReserveMs } from '../app/send-wiring';

const config = loadConfig();

export const handler = createSendHandler(buildSendDeps(config, createClients(config)), {
  flush: () => metrics.publishStoredMetrics(),
  // Never start a job that the invocation's timeout could cut off while SENDING.
  reserveMs: sendReserveMs(config.maxSlotWaitMs),
});
