/** In-memory wiring of the send use case for unit tests: fake clock, scripted SES, recorders. */
import type { SendBounceCommandInput } from '@aws-sdk/client-ses';
import { MemoryBounceQueue } from '../../../lambda/adapters/memory/bounce-queue';
import { MemoryMessageLedger } from '../../../lambda/adapters/memory/message-ledger';
import { MemoryRateGate } from '../../../lambda/adapters/memory/rate-gate';
import type { SendBounceDeps, SendSettings } from '../../../lambda/app/send-bounce';
import type { AuditRecord, BounceJob } from '../../../lambda/ports';
import type { BounceSender } from '../../../lambda/ports/bounce-sender';
import type { Clock } from '../../../lambda/ports/clock';

/** Time stands still until someone sleeps; `sleep` advances it (plus `overshootMs` once, if set). */
export class FakeClock implements Clock {
  overshootMs = 0;
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    if (ms > 0) this.t += ms;
    this.t += this.overshootMs;
    this.overshootMs = 0;
    await Promise.resolve();
  }
}

export type Answer = { messageId: string } | Error;

/** Answers calls from a script (the last answer repeats), recording each call's time. */
export class ScriptedSender implements BounceSender {
  readonly calls: { at: number; request: SendBounceCommandInput }[] = [];
  constructor(
    private readonly clock: Clock,
    private readonly script: Answer[] = [{ messageId: 'ses-bounce-1' }],
  ) {}
  async send(request: SendBounceCommandInput): Promise<{ messageId: string }> {
    this.calls.push({ at: this.clock.now(), request });
    const answer = this.script.length > 1 ? this.script.shift()! : this.script[0];
    if (answer instanceof Error) throw answer;
    return answer;
  }
}

export const T0 = Date.parse('2026-11-26T12:00:00.000Z');

export function job(messageId = 'msg-1', receivedAt = new Date(T0 - 60_000).toISOString()): BounceJob {
  return {
    messageId,
    receivedAt,
    sender: 'alice@sender.example',
    recipients: [{ recipient: 'bob@example.com', ruleId: 'r1', bounce: { bounceType: 'DoesNotExist', status: '5.1.1', action: 'failed' } }],
  };
}

export function auditFor(j: BounceJob, at: number, overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    messageId: j.messageId,
    receivedAt: j.receivedAt,
    sender: j.sender,
    decisions: j.recipients.map((r) => ({ recipient: r.recipient, action: 'bounce' as const, ruleId: r.ruleId, bounce: r.bounce })),
    guard: { allowed: true, reasons: [] },
    state: 'PENDING',
    attempts: 0,
    createdAt: new Date(at).toISOString(),
    updatedAt: new Date(at).toISOString(),
    expiresAt: Math.floor(at / 1000) + 30 * 86400,
    ...overrides,
  };
}

export interface Harness {
  clock: FakeClock;
  ledger: MemoryMessageLedger;
  gate: MemoryRateGate;
  queue: MemoryBounceQueue;
  sender: ScriptedSender;
  metrics: { name: string; value: number }[];
  logs: { level: string; message: string; extra: Record<string, unknown> }[];
  deps: SendBounceDeps;
  count(metric: string): number;
}

export function harness(script?: Answer[], settings: Partial<SendSettings> = {}): Harness {
  const clock = new FakeClock(T0);
  const ledger = new MemoryMessageLedger(() => new Date(clock.now()));
  const gate = new MemoryRateGate({ clock, intervalMs: 1000, ledger });
  const queue = new MemoryBounceQueue();
  const sender = new ScriptedSender(clock, script);
  const metrics: Harness['metrics'] = [];
  const logs: Harness['logs'] = [];
  const log = (level: string) => (message: string, extra: Record<string, unknown>) => logs.push({ level, message, extra });
  const deps: SendBounceDeps = {
    ledger,
    gate,
    sender,
    queue,
    clock,
    settings: { bounceSender: 'mailer-daemon@example.com', reportingMta: 'mx.example.com', maxSlotWaitMs: 20_000, ...settings },
    metrics: { addMetric: (name, _unit, value) => metrics.push({ name, value }) },
    logger: { info: log('info'), warn: log('warn'), error: log('error') },
  };
  const count = (metric: string) => metrics.filter((m) => m.name === metric).reduce((sum, m) => sum + m.value, 0);
  return { clock, ledger, gate, queue, sender, metrics, logs, deps, count };
}
