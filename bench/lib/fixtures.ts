/**
 * Inputs shared by the benchmarks: rule sets of a given size and mix, SES
 * events built from the real sample, and no-op log/metric sinks.
 */
import type { ReceiveLogSink, ReceiveMetricsSink } from '../../lambda/app/receive-message';
// Imported, not read from disk: child bundles carry it along.
import sample from '../../test/fixtures/ses/lambda-action-event.json';

/** Mix of recipient patterns in a generated rule set. */
export interface RuleMix {
  readonly exact: number;
  readonly domains: number;
  readonly wildcards: number;
}

/** Address of the i-th exact rule. */
export const exactAddress = (i: number) => `user${i}@corp${i % 97}.example`;
/** Domain of the j-th domain rule. */
export const ruleDomain = (j: number) => `dept${j}.example`;

/**
 * Rule items as stored (unmarshalled): header-only conditions, never size or
 * body. Exact rules alternate bounce and allow; domain rules bounce only mail
 * whose subject mentions a lottery; wildcard rules cover no-reply style
 * addresses at subdomains of their own domain (a true wildcard: listed, not
 * indexed).
 */
export function ruleItems(mix: RuleMix): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = [];
  for (let i = 0; i < mix.exact; i++) {
    items.push(
      i % 2 === 0
        ? { ruleId: `exact-${i}`, recipients: [exactAddress(i)], action: 'bounce', bounceType: 'DoesNotExist' }
        : { ruleId: `exact-${i}`, recipients: [exactAddress(i)], action: 'allow' },
    );
  }
  for (let j = 0; j < mix.domains; j++) {
    items.push({ ruleId: `domain-${j}`, recipients: [ruleDomain(j)], subject: ['*lottery*'], action: 'bounce', bounceType: 'ContentRejected' });
  }
  for (let k = 0; k < mix.wildcards; k++) {
    items.push({ ruleId: `wild-${k}`, recipients: [`noreply-${k}*@*.wild${k}.example`], action: 'bounce', priority: 50 });
  }
  return items;
}

/** The SES sample event from the test fixtures, as text. */
export function sampleEventText(): string {
  return JSON.stringify(sample);
}

/**
 * A single-record SES event for the given recipients, built on the real
 * sample: SPF PASS, complete headers unless `truncated`.
 */
export function sesEvent(options: { messageId: string; recipients: readonly string[]; subject?: string; truncated?: boolean; timestamp?: string }): unknown {
  const event = JSON.parse(sampleEventText()) as {
    Records: Array<{ ses: { mail: Record<string, unknown> & { headers: Array<{ name: string; value: string }> }; receipt: Record<string, unknown> } }>;
  };
  const { mail, receipt } = event.Records[0].ses;
  mail.messageId = options.messageId;
  mail.destination = [...options.recipients];
  receipt.recipients = [...options.recipients];
  if (options.timestamp) {
    mail.timestamp = options.timestamp;
    receipt.timestamp = options.timestamp;
  }
  if (options.subject !== undefined) {
    for (const h of mail.headers) if (h.name === 'Subject') h.value = options.subject;
    (mail.commonHeaders as Record<string, unknown>).subject = options.subject;
  }
  if (options.truncated) {
    mail.headersTruncated = true;
    mail.headers = mail.headers.filter((h) => h.name !== 'Subject');
  }
  return event;
}

/** Log and metric sinks that drop everything: the figures measure decisions, not stdout. */
export const silentLogger: ReceiveLogSink & { debug(): void } = { info() {}, warn() {}, error() {}, debug() {} };
export const silentMetrics: ReceiveMetricsSink = {
  addMetric() {},
  singleMetric: () => ({ addDimension() {}, addMetric() {} }),
};
