/**
 * Public surface of the sender-safety guard (pure part). The per-sender budget
 * needs storage and lives behind the `SenderBudget` port.
 */
import type { GuardPolicy, GuardVerdict, MessageFacts, MessageNeeds } from '../model';

/** The guard reads headers (Auto-Submitted, Content-Type): complete them when truncated. */
export const GUARD_NEEDS: MessageNeeds = Object.freeze({ headers: true, size: false, body: false });

export type CheckSender = (facts: MessageFacts, policy: GuardPolicy) => GuardVerdict;

export { checkSender } from './sender-guard';
