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

/** Parses an SQS message body into a job; throws {@link InvalidBounceJobError} naming the first bad field. */
export function parseBounceJob(body: string): BounceJob {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new InvalidBounceJobError(`bounce job body is not json (starts with ${JSON.stringify(body.slice(0, 20))})`, undefined, {
      cause: error,
    });
  }
  const parsed = bounceJobSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.join('.');
    throw new InvalidBounceJobError(`invalid bounce job: ${field || '(root)'} ${issue.message}`, field, { cause: parsed.error });
  }
  return parsed.data as BounceJob;
}
