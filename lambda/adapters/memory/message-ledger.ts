import type { AuditRecord, BounceState, MessageLedger } from '../../ports';

type Patch = Partial<Pick<AuditRecord, 'attempts' | 'sesBounceMessageId' | 'lastError' | 'guard'>>;

/**
 * MessageLedger in a Map, for unit tests and local mode. Every method checks
 * and writes without an `await` in between, so it is as atomic as the
 * DynamoDB conditional writes it stands in for.
 */
export class MemoryMessageLedger implements MessageLedger {
  private readonly items = new Map<string, AuditRecord>();

  /** @param now clock for `updatedAt` */
  constructor(private readonly now: () => Date = () => new Date()) {}

  async claim(record: AuditRecord): Promise<{ claimed: true } | { claimed: false; existing: AuditRecord }> {
    const existing = this.items.get(record.messageId);
    if (existing) return { claimed: false, existing };
    this.items.set(record.messageId, record);
    return { claimed: true };
  }

  async get(messageId: string): Promise<AuditRecord | undefined> {
    return this.items.get(messageId);
  }

  async transition(messageId: string, from: readonly BounceState[], to: BounceState, patch?: Patch): Promise<boolean> {
    return this.transitionNow(messageId, from, to, patch);
  }

  /** Synchronous transition, for the in-memory rate gate's atomic "slot + state change". */
  transitionNow(messageId: string, from: readonly BounceState[], to: BounceState, patch?: Patch): boolean {
    const item = this.items.get(messageId);
    if (!item || !from.includes(item.state)) return false;
    const defined = Object.fromEntries(Object.entries(patch ?? {}).filter(([, value]) => value !== undefined));
    this.items.set(messageId, { ...item, ...defined, state: to, updatedAt: this.now().toISOString() });
    return true;
  }

  /** Synchronous condition check, paired with {@link transitionNow}. */
  canTransition(messageId: string, from: readonly BounceState[]): boolean {
    const item = this.items.get(messageId);
    return item !== undefined && from.includes(item.state);
  }

  /** Every item, for assertions and local-mode inspection. */
  all(): AuditRecord[] {
    return [...this.items.values()];
  }
}
