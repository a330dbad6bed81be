/**
 * In-memory SenderBudget with the semantics of the DynamoDB one: fixed
 * windows, per-address and per-domain counters, both taken or neither.
 * Counters of past windows are dropped as time moves on.
 */
import { budgetAddress } from '../../domain/rules';
import type { SenderBudget } from '../../ports';

export interface MemorySenderBudgetLimits {
  readonly perAddress: number;
  readonly perDomain: number;
  readonly windowMs: number;
}

export class MemorySenderBudget implements SenderBudget {
  private window = -1;
  private readonly domains = new Map<string, number>();
  private readonly addresses = new Map<string, number>();

  constructor(private readonly limits: MemorySenderBudgetLimits) {}

  async consume(sender: string, now: Date): Promise<boolean> {
    const room = this.room(sender, now);
    if (!room) return false;
    this.domains.set(room.domain, room.domainCount + 1);
    this.addresses.set(room.address, room.addressCount + 1);
    return true;
  }

  /** Whether {@link consume} would succeed now; spends nothing. */
  async peek(sender: string, now: Date): Promise<boolean> {
    return this.room(sender, now) !== undefined;
  }

  /** The sender's counters when both have room in the current window; undefined when either is spent. */
  private room(sender: string, now: Date): { address: string; domain: string; addressCount: number; domainCount: number } | undefined {
    const { perAddress, perDomain, windowMs } = this.limits;
    const { address, domain } = budgetAddress(sender);
    if (address === '' || perAddress <= 0 || perDomain <= 0) return undefined;
    const window = Math.floor(now.getTime() / windowMs);
    if (window !== this.window) {
      this.window = window;
      this.domains.clear();
      this.addresses.clear();
    }
    const domainCount = this.domains.get(domain) ?? 0;
    const addressCount = this.addresses.get(address) ?? 0;
    if (domainCount >= perDomain || addressCount >= perAddress) return undefined;
    return { address, domain, addressCount, domainCount };
  }
}
