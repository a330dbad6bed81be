/**
 * The pure part of the sender-safety guard: may this message's envelope
 * sender receive a bounce at all? Every reason that applies is reported, not
 * only the first, so the decision record shows the whole picture.
 *
 * Deliberately NOT a reason (decided in issue 12, pinned by tests):
 * `Precedence: bulk|junk|list` and `List-Id`.
 * RFC 3834 asks auto-responders to stay quiet for such mail, but a bounce is a
 * delivery status notification, which RFC 5321 §6.1 and RFC 3464 expect for
 * undeliverable mail whatever its precedence (list servers rely on bounces to
 * clean their lists). SES's own sample event carries `Precedence: Bulk`.
 */
import type { GuardPolicy, GuardReason, GuardVerdict, MessageFacts } from '../model';
import { parseAddress } from '../rules/pattern';
import type { CheckSender } from './index';

/** Local parts that belong to mail systems, not people (RFC 5321 §4.5.5, RFC 2142). */
const SYSTEM_LOCAL_PARTS = new Set(['mailer-daemon', 'postmaster']);

/** Top-level media types of delivery and disposition reports. */
const REPORT_TYPES = new Set(['multipart/report', 'message/delivery-status', 'message/disposition-notification']);

/** Removes RFC 5322 comments (non-nested is enough for these keyword fields) and parameters. */
function keyword(value: string): string {
  return value
    .replace(/\([^()]*\)/g, ' ')
    .split(';')[0]
    .trim()
    .toLowerCase();
}

function valuesOf(facts: MessageFacts, name: string): string[] {
  return facts.headers.filter((h) => h.name.trim().toLowerCase() === name).map((h) => h.value);
}

/**
 * Checks the envelope sender and the message against the never-bounce list
 * and the sender authentication policy. The per-sender budget is separate
 * (`SenderBudget` port) because it needs storage; its reason is
 * `sender-budget-exceeded`.
 *
 * Reads headers (Auto-Submitted, Content-Type, X-Failed-Recipients): pass the
 * complete header block (see `GUARD_NEEDS`).
 */
export const checkSender: CheckSender = (facts: MessageFacts, policy: GuardPolicy): GuardVerdict => {
  const reasons: GuardReason[] = [];
  const sender = facts.sender.trim();

  if (sender === '' || sender === '<>') reasons.push('null-sender');
  else {
    const address = parseAddress(sender);
    const locals = [...address.locals, ...address.baseLocals];
    if (locals.some((l) => SYSTEM_LOCAL_PARTS.has(l))) reasons.push('mailer-daemon-sender');
  }

  // A DSN or MDN, or a non-standard bounce that announces itself (Exim's X-Failed-Recipients).
  const isReport =
    valuesOf(facts, 'content-type').some((v) => REPORT_TYPES.has(keyword(v))) || valuesOf(facts, 'x-failed-recipients').length > 0;
  if (isReport) reasons.push('delivery-report');

  // Present and anything but "no" (RFC 3834 §5); an empty value is not "no".
  // X-Autoreply / X-Autorespond are the non-standard marks of older auto-responders: present at all means automatic.
  if (
    valuesOf(facts, 'auto-submitted').some((v) => keyword(v) !== 'no') ||
    valuesOf(facts, 'x-autoreply').length > 0 ||
    valuesOf(facts, 'x-autorespond').length > 0
  ) {
    reasons.push('auto-submitted');
  }

  // A block cut at the read cap may hide Auto-Submitted or a report Content-Type past the cut.
  if (!facts.headersComplete) reasons.push('headers-incomplete');

  // A scan that could not finish (PROCESSING_FAILED) is unknown, and unknown never bounces.
  // DISABLED is the operator's choice to scan nothing: it does not refuse.
  if (facts.verdicts.spam === 'FAIL' || facts.verdicts.spam === 'PROCESSING_FAILED') reasons.push('spam-verdict');
  if (facts.verdicts.virus === 'FAIL' || facts.verdicts.virus === 'PROCESSING_FAILED') reasons.push('virus-verdict');

  const spfPass = facts.verdicts.spf === 'PASS';
  const authenticated =
    policy.senderAuth === 'none' ||
    (policy.senderAuth === 'spf-pass' && spfPass) ||
    (policy.senderAuth === 'spf-or-dmarc-pass' && (spfPass || facts.verdicts.dmarc === 'PASS'));
  if (!authenticated) reasons.push('sender-not-authenticated');

  return { allowed: reasons.length === 0, reasons };
};
