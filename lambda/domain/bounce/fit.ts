/**
 * What a message's bounce may carry. The job travels through SQS (256 KiB a
 * message) and the audit item lives in DynamoDB (400 KB an item); a message
 * with thousands of recipients would break both, and the claim would fail
 * into the DLQ with nothing bounced and nothing recorded. So both are cut to
 * a budget here, before the claim: recipients past the job's budget are not
 * bounced (fewer bounces, never a failed claim) and are counted; decisions
 * past the audit's budget are left out of the item and counted in it.
 *
 * Sizes are measured on the compact forms the adapters store, where a
 * rule's bounce texts appear once per rule, not once per recipient.
 */
import type { BouncedRecipient } from '../../ports';
import type { BounceSpec, RecipientDecision } from '../model';

/** Budget of a job's body on the queue: SQS takes 262,144 bytes with attributes; the rest is headroom. */
export const MAX_JOB_BYTES = 200 * 1024;

/** Budget of the audit item's decisions and texts: DynamoDB takes 400 KB; the rest holds the other fields. */
export const MAX_AUDIT_BYTES = 300 * 1024;

/**
 * Budget of the SendBounce request body. Unlike the job, the request repeats
 * each recipient's DSN fields (diagnostic code included) per recipient:
 * 2,000 recipients of a rule with a 2 KB diagnostic code made an 8 MB
 * request that the SES stand-in took over 10 s to answer. SES documents no
 * limit; 1 MiB keeps a call well inside the request timeout.
 */
export const MAX_REQUEST_BYTES = 1024 * 1024;

/** Form field names and separators of one recipient in the request (`BouncedRecipientInfoList.member.N.…`). */
const REQUEST_RECIPIENT_OVERHEAD = 260;

/** What {@link fitBounces} kept and what it had to leave out. */
export interface FittedBounces {
  /** Recipients the job carries, in decision order. */
  readonly bounced: readonly BouncedRecipient[];
  /** Bounce decisions past the job's budget: these recipients are not bounced. */
  readonly unbounced: readonly BouncedRecipient[];
  /** Decisions the audit item keeps: every bounced one, then drops and those with shadow matches, then the others, while they fit. */
  readonly decisions: readonly RecipientDecision[];
  /** Decisions left out of the audit item (the unbounced ones included). */
  readonly omittedDecisions: number;
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');
/** Size of a value in the form-encoded request (URL encoding can triple it). */
const formBytes = (value: string) => encodeURIComponent(value).length;
/** Per-element overhead of the stored forms (separators, DynamoDB type tags and attribute names). */
const ELEMENT_OVERHEAD = 48;

/**
 * Cuts a message's decisions to what the job and the audit item can carry.
 * Pure; `bounces` are the bounce decisions in order, `decisions` all of them.
 */
export function fitBounces(
  decisions: readonly RecipientDecision[],
  budget: { readonly jobBytes?: number; readonly auditBytes?: number; readonly requestBytes?: number } = {},
): FittedBounces {
  const jobBudget = budget.jobBytes ?? MAX_JOB_BYTES;
  const auditBudget = budget.auditBytes ?? MAX_AUDIT_BYTES;
  const requestBudget = budget.requestBytes ?? MAX_REQUEST_BYTES;
  const rules = new Map<string, BounceSpec>();
  const bounced: BouncedRecipient[] = [];
  const unbounced: BouncedRecipient[] = [];
  let used = 0;
  let request = 0;
  for (const d of decisions) {
    if (d.action !== 'bounce') continue;
    const recipient: BouncedRecipient = { recipient: d.recipient, ruleId: d.ruleId, bounce: d.bounce };
    const ruleCost = rules.has(d.ruleId) ? 0 : bytes(d.ruleId) + bytes(d.bounce) + ELEMENT_OVERHEAD;
    // Shadow matches ride in the audit item's decision, not in the job: counted against both budgets all the same, to stay simple and safe.
    const cost = bytes(d.recipient) + bytes(d.ruleId) + (d.shadow ? bytes(d.shadow) : 0) + ELEMENT_OVERHEAD + ruleCost;
    const explanation = ruleCost > 0 && rules.size === 0 ? formBytes(d.bounce.explanation ?? '') : 0;
    const requestCost =
      REQUEST_RECIPIENT_OVERHEAD + 2 * formBytes(d.recipient) + formBytes(d.bounce.diagnosticCode ?? '') + formBytes(d.bounce.status) + explanation;
    // Once one recipient is left out, later ones are too: the cut stays a prefix.
    if (unbounced.length > 0 || used + cost > Math.min(jobBudget, auditBudget) || request + requestCost > requestBudget) {
      unbounced.push(recipient);
      continue;
    }
    used += cost;
    request += requestCost;
    rules.set(d.ruleId, d.bounce);
    bounced.push(recipient);
  }
  const kept = new Set(bounced.map((b) => b.recipient));
  const out: RecipientDecision[] = decisions.filter((d) => d.action === 'bounce' && kept.has(d.recipient));
  let omitted = unbounced.length;
  // Drops and shadow matches before plain decisions: they are what the item records them for.
  const notable = (d: RecipientDecision) => d.action === 'drop' || d.shadow !== undefined;
  for (const pass of [true, false]) {
    for (const d of decisions) {
      if (d.action === 'bounce' || notable(d) !== pass) continue;
      const cost = bytes(d) + ELEMENT_OVERHEAD;
      if (used + cost > auditBudget) {
        omitted += 1;
        continue;
      }
      used += cost;
      out.push(d);
    }
  }
  return { bounced, unbounced, decisions: out, omittedDecisions: omitted };
}
