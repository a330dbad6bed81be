/** The SES stand-in: start it with {@link startSesStandIn}; the DSN renderer is exported for reuse. */
export { startSesStandIn, boundedHeaderBlock, SEND_BOUNCE_WINDOW_MS, DEFAULT_MIN_INTERVAL_MS, MAX_HELD_HEADER_BYTES, SWEEP_INTERVAL_MS } from './ses-stand-in';
export { renderDsn, recipientBlock, BOUNCE_TYPE_DSN, DEFAULT_REPORTING_MTA, type DsnInput } from './dsn';
export { decodeSendBounce, BOUNCE_TYPES, DSN_ACTIONS, type SendBounceRequest } from './send-bounce-request';
export type { ReceivedMessage, SendBounceCall, SesStandIn, SesStandInOptions } from './types';
