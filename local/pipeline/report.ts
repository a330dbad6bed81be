/**
 * The compact lines local mode prints: one per message and recipient when the
 * receive handler has decided, one per message when the send handler has run.
 * Pure formatting over what the pipeline recorded (decisions, audit item).
 */
import { printable } from '../../lambda/commons/printable';
import type { RecipientDecision } from '../../lambda/domain/model';
import { shadowText } from '../../lambda/domain/rules';
import type { AuditRecord } from '../../lambda/ports';


function shortId(messageId: string): string {
  return printable(messageId.length > 12 ? `${messageId.slice(0, 12)}…` : messageId);
}

function guardText(audit: AuditRecord | undefined, bounced: boolean): string {
  if (!bounced || !audit) return '-';
  return audit.guard.allowed ? 'ok' : audit.guard.reasons.join('+');
}

function decisionText(d: RecipientDecision): string {
  return d.action === 'default' ? 'deliver' : d.action;
}

function ruleText(d: RecipientDecision): string {
  if (d.action !== 'default') return d.ruleId;
  return d.heldBy === undefined ? '(no rule)' : `(bounce held by invalid rule ${d.heldBy})`;
}

/**
 * The recipient's shadow matches, each `shadow=<rule> would-bounce guard=ok`:
 * judged by the item's shadow verdict (SHADOW, DROPPED), else by the real
 * guard of the message's bounce.
 */
function shadowParts(d: RecipientDecision, audit: AuditRecord | undefined): string[] {
  const verdict = audit?.shadowVerdict ?? (audit && audit.state !== 'DROPPED' ? { guard: audit.guard } : undefined);
  return (d.shadow ?? []).map((m) => ` ${shadowText(m, verdict)}`);
}

/**
 * Lines for one received message: `receive <id> <sender> -> <recipient>
 * decision=… rule=… guard=… state=…`, then the recipient's shadow matches
 * (`shadow=<rule> would-bounce guard=ok`). The guard belongs to the message's
 * audit item and shows only on bounced recipients, the state on bounced,
 * dropped and shadow-matched ones; a message without any bounce, drop or
 * shadow match has no audit item. Sender, recipients and rule ids come
 * from the mail and the rules table: their control characters are escaped, so
 * one can never forge a line.
 */
export function receiveLines(input: {
  readonly messageId: string;
  readonly sender: string;
  readonly decisions: readonly RecipientDecision[];
  readonly audit?: AuditRecord;
}): string[] {
  const sender = input.sender === '' ? '<>' : input.sender;
  return input.decisions.map((d) => {
    const bounced = d.action === 'bounce';
    const recorded = bounced || d.action === 'drop' || d.shadow !== undefined;
    const state = recorded ? (input.audit?.state ?? '-') : '-';
    return printable(
      `receive ${shortId(input.messageId)} ${sender} -> ${d.recipient} decision=${decisionText(d)} rule=${ruleText(d)} guard=${guardText(input.audit, bounced)} state=${state}${shadowParts(d, input.audit).join('')}`,
    );
  });
}

/** The line for one send attempt: the audit item's state and, when sent, the DSN file. */
export function sendLine(input: { readonly messageId: string; readonly audit?: AuditRecord; readonly dsnFile?: string; readonly deadLettered?: boolean }): string {
  const a = input.audit;
  const parts = [`send    ${shortId(input.messageId)} state=${a?.state ?? 'missing'}`];
  if (a?.attempts) parts.push(`attempts=${a.attempts}`);
  if (a?.lastError) parts.push(`error=${JSON.stringify(a.lastError)}`);
  if (input.dsnFile) parts.push(`dsn=${input.dsnFile}`);
  if (input.deadLettered) parts.push('dead-lettered');
  return printable(parts.join(' '));
}

