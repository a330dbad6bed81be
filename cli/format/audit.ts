/** The readable form of an audit record, for `ses-bouncer explain`. */
import { shadowText } from '../../lambda/domain/rules';
import type { AuditRecord, BounceState } from '../../lambda/ports';
import { renderFields, renderTable } from './table';

/** What each state means to someone debugging a message. */
export const STATE_MEANING: Readonly<Record<BounceState, string>> = Object.freeze({
  PENDING: 'claimed; the bounce is queued for the send function',
  SKIPPED: 'the guard refused to bounce; nothing was sent',
  SENDING: 'the send function holds a rate slot and is calling SendBounce',
  SENT: 'SendBounce accepted the bounce',
  FAILED: 'SendBounce refused it, or the request was invalid; not retried',
  EXPIRED: 'not sent within 24 hours of receipt (SendBounce would refuse it)',
  UNKNOWN: 'the send function stopped during SendBounce; not retried so that no sender gets two bounces',
  SHADOW: 'only shadow rules matched; nothing was bounced or dropped (what would have happened is below)',
  DROPPED: 'recipients were dropped without a DSN; nothing was sent',
});

/** Lines describing the record: fields, then one table row per recipient. */
export function auditLines(record: AuditRecord): string[] {
  const realBounce = record.state !== 'SHADOW' && record.state !== 'DROPPED';
  const shadowBounce = (record.decisions ?? []).some((d) => d.shadow?.some((m) => m.action === 'bounce'));
  const verdictText = record.guard?.allowed ? 'allowed' : `refused: ${(record.guard?.reasons ?? []).join(', ') || '(no reason recorded)'}`;
  // Without a real bounce the guard ran only for shadow bounces; a drop sends no DSN and consults no guard.
  const guard = realBounce ? verdictText : shadowBounce ? `${verdictText} (for the shadow bounces; nothing was bounced)` : 'not consulted (no DSN: nothing was bounced)';
  const expires = typeof record.expiresAt === 'number' ? `${new Date(record.expiresAt * 1000).toISOString()} (TTL)` : '-';
  const fields: [string, string][] = [
    ['Message', record.messageId],
    ['State', `${record.state}: ${STATE_MEANING[record.state] ?? 'unknown state'}`],
    ['Received', record.receivedAt],
    ['Sender', record.sender === '' ? '<> (null reverse-path)' : record.sender],
    ['Guard', guard],
    ['Attempts', String(record.attempts ?? 0)],
    ['SES bounce', record.sesBounceMessageId ?? '-'],
  ];
  if (record.shadowVerdict) {
    const v = record.shadowVerdict;
    fields.push(['Shadow', `guard ${v.guard.allowed ? 'ok' : v.guard.reasons.join(', ')}, sender budget ${BUDGET_MEANING[v.budget] ?? v.budget}`]);
  }
  if (record.lastError) fields.push(['Last error', record.lastError]);
  fields.push(['Created', record.createdAt], ['Updated', record.updatedAt], ['Expires', expires]);

  // Shadow matches are judged by the shadow verdict, else (a real bounce) by the message's guard.
  const verdict = record.shadowVerdict ?? (realBounce && record.guard ? { guard: record.guard } : undefined);
  const rows = (record.decisions ?? []).map((d) => {
    const row = decisionRow(d);
    return [...row, (d.shadow ?? []).map((m) => shadowText(m, verdict)).join(', ') || '-'];
  });
  // The SHADOW column only when some decision has shadow matches.
  const withShadow = (record.decisions ?? []).some((d) => d.shadow !== undefined);
  const header = ['RECIPIENT', 'DECISION', 'RULE', 'BOUNCE TYPE', 'STATUS', 'ACTION', 'DIAGNOSTIC', 'EXPLANATION'];
  return [
    ...renderFields(fields),
    '',
    ...renderTable(withShadow ? [...header, 'SHADOW'] : header, withShadow ? rows : rows.map((r) => r.slice(0, -1))),
  ];
}

/** What a shadow verdict's budget value means. */
const BUDGET_MEANING: Readonly<Record<string, string>> = Object.freeze({
  within: 'within (read, not spent)',
  spent: 'spent: the bounce would not have gone out',
  unavailable: 'could not be read: the bounce would not have gone out',
  'not-checked': 'not checked',
});

function decisionRow(d: AuditRecord['decisions'][number]): string[] {
  if (d.action === 'bounce') {
    const b = d.bounce;
    return [d.recipient, 'bounce', d.ruleId, b.bounceType, b.status, b.action, b.diagnosticCode ?? '-', b.explanation ?? '-'];
  }
  if (d.action === 'allow') return [d.recipient, 'allow', d.ruleId, '-', '-', '-', '-', '-'];
  if (d.action === 'drop') return [d.recipient, 'drop (no DSN)', d.ruleId, '-', '-', '-', '-', '-'];
  const held = d.heldBy === undefined ? '-' : `bounce held by invalid rule ${d.heldBy}`;
  return [d.recipient, 'default (deliver)', held, '-', '-', '-', '-', '-'];
}
