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
    const { perAddress, perDomain, windowMs } = this.limits;
    const { address, domain } = budgetAddress(sender);
    if (address === '' || perAddress <= 0 || perDomain <= 0) return false;
    const window = Math.floor(now.getTime() / windowMs);
    if (window !== this.window) {
      this.window = window;
      this.domains.clear();
      this.addresses.clear();
    }
    const d = this.domains.get(domain) ?? 0;
    const a = this.addresses.get(address) ?? 0;
    if (d >= perDomain || a >= perAddress) return false;
    this.domains.set(domain, d + 1);
    this.addresses.set(address, a + 1);
    return true;
  }
}
