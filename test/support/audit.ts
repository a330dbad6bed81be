import type { RecipientDecision } from '../../lambda/domain/model';
import type { AuditRecord } from '../../lambda/ports';

/**
 * An audit record decided `agoMs` before now, PENDING with the guard's
 * consent, kept 30 days. Times are built from Date.now(), so tests using it
 * hold on any date.
 */
export function decidedRecord(messageId: string, decisions: RecipientDecision[], agoMs = 60_000, overrides: Partial<AuditRecord> = {}): AuditRecord {
  const at = new Date(Date.now() - agoMs).toISOString();
  return {
    messageId,
    receivedAt: at,
    sender: 'alice@sender.example',
    decisions,
    guard: { allowed: true, reasons: [] },
    state: 'PENDING',
    attempts: 0,
    createdAt: at,
    updatedAt: at,
    expiresAt: Math.floor(Date.now() / 1000) + 30 * 86_400,
    ...overrides,
  };
}
