import { ValidationError } from '../../commons/errors';
import * as z from '../../commons/zod';
import { BOUNCE_TYPES } from '../../domain/model';
import type { BounceJob } from '../../ports';

/** A queue message whose body is not a bounce job: the record fails and ends in the dead-letter queue. */
export class InvalidBounceJobError extends ValidationError {}

const bounceSpec = z.object({
  bounceType: z.enum(BOUNCE_TYPES as [string, ...string[]]),
  status: z.string().check(z.minLength(1)),
  action: z.enum(['failed', 'delayed']),
  diagnosticCode: z.optional(z.string()),
  explanation: z.optional(z.string()),
});

/**
 * Shape of a job on the queue. Structural only: the bounce request builder
 * checks the values (addresses, DSN status) the way SES would, so a job that
 * parses but cannot be sent still gets an audit state (FAILED).
 */
export const bounceJobSchema = z.object({
  messageId: z.string().check(z.minLength(1)),
  receivedAt: z.iso.datetime({ offset: true }),
  sender: z.string(),
  recipients: z
    .array(z.object({ recipient: z.string().check(z.minLength(1)), ruleId: z.string().check(z.minLength(1)), bounce: bounceSpec }))
    .check(z.minLength(1)),
});

/**
 * The job's queue body: each rule's bounce texts once, in `bounces`, and the
 * recipients by rule id, so that many recipients of one rule cost an address
 * each, not 4 KB each (issue 12, defect 9).
 */
export function encodeBounceJob(job: BounceJob): string {
  const bounces: Record<string, BounceJob['recipients'][number]['bounce']> = {};
  const recipients = job.recipients.map((r) => {
    bounces[r.ruleId] = r.bounce;
    return { recipient: r.recipient, ruleId: r.ruleId };
  });
  return JSON.stringify({ messageId: job.messageId, receivedAt: job.receivedAt, sender: job.sender, bounces, recipients });
}

/** The compact form of {@link encodeBounceJob}, back to one bounce spec per recipient. */
function expand(json: unknown): unknown {
  const j = json as { bounces?: unknown; recipients?: unknown };
  if (typeof j !== 'object' || j === null || typeof j.bounces !== 'object' || j.bounces === null || !Array.isArray(j.recipients)) {
    return json;
  }
  const specs = j.bounces as Record<string, unknown>;
  const { bounces: _specs, ...rest } = j as Record<string, unknown>;
  return {
    ...rest,
    recipients: (j.recipients as Array<Record<string, unknown>>).map((r) =>
      typeof r === 'object' && r !== null && r.bounce === undefined && typeof r.ruleId === 'string' && Object.hasOwn(specs, r.ruleId)
        ? { ...r, bounce: specs[r.ruleId] }
        : r,
    ),
  };
}

/**
 * Parses an SQS message body into a job, in the compact form of
 * {@link encodeBounceJob} or the older one with the spec inline; throws
 * {@link InvalidBounceJobError} naming the first bad field.
 */
export function parseBounceJob(body: string): BounceJob {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new InvalidBounceJobError(`bounce job body is not json (starts with ${JSON.stringify(body.slice(0, 20))})`, undefined, {
      cause: error,
    });
  }
  const parsed = bounceJobSchema.safeParse(expand(json));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.join('.');
    throw new InvalidBounceJobError(`invalid bounce job: ${field || '(root)'} ${issue.message}`, field, { cause: parsed.error });
  }
  return parsed.data as BounceJob;
}
