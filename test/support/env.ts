/**
 * A valid environment for the receive function (and the send function, which
 * reads the same settings): what handler and wiring tests load config from.
 * The queue URL points at a closed port so nothing is ever sent by accident.
 */
export const RECEIVE_ENV: Readonly<Record<string, string>> = {
  BOUNCE_SENDER: 'mailer-daemon@example.com',
  REPORTING_MTA: 'mx.example.com',
  RULES_TABLE: 'rules-table',
  STATE_TABLE: 'state-table',
  BOUNCE_QUEUE_URL: 'http://127.0.0.1:1/queue/bounces',
  MAIL_BUCKET: 'mail-bucket',
  MAIL_PREFIX: 'inbound/',
};
