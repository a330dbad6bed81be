import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryBounceQueue } from '../../../lambda/adapters/memory/bounce-queue';
import { MemoryMailStore } from '../../../lambda/adapters/memory/mail-store';
import { MemoryMessageLedger } from '../../../lambda/adapters/memory/message-ledger';
import {
  receiveMessage,
  type ReceiveDeps,
  type ReceiveLogSink,
  type ReceiveMetricsSink,
} from '../../../lambda/app/receive-message';
import { MailNotFoundError } from '../../../lambda/commons/errors';
import { MetricName } from '../../../lambda/commons/metrics';
import { parseSesEvent, type SesRecord } from '../../../lambda/domain/event/ses-event';
import type { CheckSender } from '../../../lambda/domain/guard';
import type {
  BounceSpec,
  GuardVerdict,
  MessageFacts,
  MessageNeeds,
  RecipientDecision,
} from '../../../lambda/domain/model';
import { NO_NEEDS } from '../../../lambda/domain/model';
import { compileRules, type CompiledRules } from '../../../lambda/domain/rules';
import type { AuditRecord, BounceJob, BounceQueue, MessageLedger, SenderBudget } from '../../../lambda/ports';

const T0 = Date.parse('2019-08-05T21:30:05.000Z');
const MESSAGE_ID = 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000';
const BOUNCE: BounceSpec = { bounceType: 'DoesNotExist', status: '5.1.1', action: 'failed', diagnosticCode: 'smtp; 550 5.1.1 no such user' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- events are varied by mutation
function sesRecord(mutate: (event: any) => void = () => {}): SesRecord {
  const event = JSON.parse(readFileSync(join(__dirname, '../../fixtures/ses/lambda-action-event.json'), 'utf8'));
  mutate(event);
  return parseSesEvent(event).Records[0];
}

/** A hand-written CompiledRules: fixed needs, decisions by recipient, and a log of what it saw. */
class FakeRules implements CompiledRules {
  readonly size = 1;
  readonly seen: MessageFacts[] = [];
  constructor(
    private readonly decide: (recipient: string, facts: MessageFacts) => 'bounce' | 'allow' | 'default',
    private readonly needs: MessageNeeds = NO_NEEDS,
  ) {}
  needsFor(): MessageNeeds {
    return this.needs;
  }
  evaluate(facts: MessageFacts): RecipientDecision[] {
    this.seen.push(facts);
    return facts.recipients.map((recipient): RecipientDecision => {
      const action = this.decide(recipient, facts);
      if (action === 'bounce') return { recipient, action, ruleId: 'rule-bounce', bounce: BOUNCE };
      if (action === 'allow') return { recipient, action, ruleId: 'rule-allow' };
      return { recipient, action: 'default', defaultAction: 'deliver' };
    });
  }
}

/** Counts the ledger's writes (claim and transition) around the in-memory ledger. */
class CountingLedger implements MessageLedger {
  writes = 0;
  readonly inner: MemoryMessageLedger;
  constructor(now: () => number) {
    this.inner = new MemoryMessageLedger(() => new Date(now()));
  }
  claim(record: AuditRecord) {
    this.writes++;
    return this.inner.claim(record);
  }
  get(messageId: string) {
    return this.inner.get(messageId);
  }
  transition(...args: Parameters<MessageLedger['transition']>) {
    this.writes++;
    return this.inner.transition(...args);
  }
}

class FakeBudget implements SenderBudget {
  readonly consumed: string[] = [];
  constructor(public remaining = Infinity) {}
  async consume(sender: string): Promise<boolean> {
    this.consumed.push(sender);
    if (this.remaining <= 0) return false;
    this.remaining--;
    return true;
  }
  readonly peeked: string[] = [];
  async peek(sender: string): Promise<boolean> {
    this.peeked.push(sender);
    return this.remaining > 0;
  }
}

class Recorder implements ReceiveMetricsSink, ReceiveLogSink {
  readonly metrics: { name: string; value: number; dimensions: Record<string, string> }[] = [];
  readonly logs: { level: string; message: string; extra: Record<string, unknown> }[] = [];
  addMetric(name: string, _unit: unknown, value: number) {
    this.metrics.push({ name, value, dimensions: {} });
  }
  singleMetric() {
    const dimensions: Record<string, string> = {};
    return {
      addDimension: (k: string, v: string) => {
        dimensions[k] = v;
      },
      addMetric: (name: string, _unit: unknown, value: number) => {
        this.metrics.push({ name, value, dimensions });
      },
    };
  }
  info(message: string, extra: Record<string, unknown>) {
    this.logs.push({ level: 'info', message, extra });
  }
  warn(message: string, extra: Record<string, unknown>) {
    this.logs.push({ level: 'warn', message, extra });
  }
  error(message: string, extra: Record<string, unknown>) {
    this.logs.push({ level: 'error', message, extra });
  }
  total(name: string, dimensions?: Record<string, string>) {
    return this.metrics
      .filter((m) => m.name === name && (!dimensions || JSON.stringify(m.dimensions) === JSON.stringify(dimensions)))
      .reduce((sum, m) => sum + m.value, 0);
  }
}

const RAW_MESSAGE = [
  'Return-Path: <sender@example.com>',
  'From: sender@example.com',
  'To: recipient@example.com',
  'Subject: full header block',
  'Auto-Submitted: no',
  'X-Long: first part',
  '  second part',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b"',
  '',
  '--b',
  'Content-Type: text/plain',
  '',
  'hi',
  '--b',
  'Content-Type: application/pdf; name="x.pdf"',
  'Content-Disposition: attachment; filename="x.pdf"',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('%PDF-1.4 tiny').toString('base64'),
  '--b--',
  '',
].join('\r\n');

interface Harness {
  deps: ReceiveDeps;
  rules: FakeRules;
  mail: MemoryMailStore;
  ledger: CountingLedger;
  queue: MemoryBounceQueue;
  budget: FakeBudget;
  recorder: Recorder;
  guardSaw: MessageFacts[];
  clock: { ms: number; now(): number };
}

function harness(options: { rules: FakeRules; guard?: GuardVerdict; budget?: number; queue?: BounceQueue; withMessage?: boolean }): Harness {
  const clock = { ms: T0, now: () => clock.ms };
  const mail = new MemoryMailStore();
  if (options.withMessage !== false) mail.put(MESSAGE_ID, RAW_MESSAGE);
  const ledger = new CountingLedger(() => clock.ms);
  const queue = new MemoryBounceQueue();
  const budget = new FakeBudget(options.budget);
  const recorder = new Recorder();
  const guardSaw: MessageFacts[] = [];
  const checkSender: CheckSender = (facts) => {
    guardSaw.push(facts);
    return options.guard ?? { allowed: true, reasons: [] };
  };
  const deps: ReceiveDeps = {
    rules: { current: async () => options.rules },
    mail,
    ledger,
    budget,
    queue: options.queue ?? queue,
    checkSender,
    policy: { senderAuth: 'spf-pass' },
    clock,
    auditTtlDays: 30,
    logger: recorder,
    metrics: recorder,
  };
  return { deps, rules: options.rules, mail, ledger, queue, budget, recorder, guardSaw, clock };
}

const bounceAll = () => new FakeRules(() => 'bounce');

describe('receive-message', () => {
  describe('receiveMessage', () => {
    it('writes nothing and reads no stored mail when no recipient is bounced', async () => {
      const h = harness({ rules: new FakeRules(() => 'default') });
      const result = await receiveMessage(h.deps, sesRecord());
      expect(result).toMatchObject({ disposition: 'CONTINUE', outcome: { kind: 'no-bounce' } });
      expect(result.decisions).toEqual([{ recipient: 'recipient@example.com', action: 'default', defaultAction: 'deliver' }]);
      expect(h.ledger.writes).toBe(0);
      expect(h.mail.calls).toEqual([]);
      expect(h.queue.jobs).toEqual([]);
      expect(h.budget.consumed).toEqual([]);
      expect(h.guardSaw).toEqual([]);
      expect(h.recorder.total('MessagesReceived')).toBe(1);
    });

    it('reads nothing from S3 when a header rule meets complete event headers', async () => {
      const h = harness({ rules: new FakeRules(() => 'allow', { headers: true, size: false, body: false }) });
      await receiveMessage(h.deps, sesRecord());
      expect(h.mail.calls).toEqual([]);
      expect(h.rules.seen[0].headers).toHaveLength(15);
    });

    it('reads the full header block when a header rule meets truncated event headers', async () => {
      const h = harness({ rules: new FakeRules(() => 'allow', { headers: true, size: false, body: false }) });
      await receiveMessage(h.deps, sesRecord((e) => (e.Records[0].ses.mail.headersTruncated = true)));
      expect(h.mail.calls).toEqual([{ method: 'readHeaders', messageId: MESSAGE_ID }]);
      const seen = h.rules.seen[0];
      expect(seen.headersComplete).toBe(true);
      expect(seen.headers.find((x) => x.name === 'X-Long')?.value).toBe('first part  second part');
    });

    it('reads only the size when a size rule needs it', async () => {
      const h = harness({ rules: new FakeRules(() => 'allow', { headers: false, size: true, body: false }) });
      await receiveMessage(h.deps, sesRecord((e) => (e.Records[0].ses.mail.headersTruncated = true)));
      expect(h.mail.calls).toEqual([{ method: 'sizeOf', messageId: MESSAGE_ID }]);
      expect(h.rules.seen[0].sizeBytes).toBe(Buffer.byteLength(RAW_MESSAGE));
      expect(h.rules.seen[0].headersComplete).toBe(false);
    });

    it('streams the attachments when an attachment rule needs the body', async () => {
      const h = harness({ rules: new FakeRules(() => 'allow', { headers: false, size: false, body: true }) });
      await receiveMessage(h.deps, sesRecord());
      expect(h.mail.calls).toEqual([{ method: 'readAttachments', messageId: MESSAGE_ID }]);
      expect(h.rules.seen[0].attachments).toEqual([{ filename: 'x.pdf', contentType: 'application/pdf', sizeBytes: 13 }]);
    });

    it('claims PENDING, spends budget once and queues one job when every recipient is bounced', async () => {
      const h = harness({ rules: bounceAll() });
      const result = await receiveMessage(h.deps, sesRecord());
      expect(result).toMatchObject({ disposition: 'STOP_RULE_SET', outcome: { kind: 'queued', recipients: 1 } });
      expect(await h.ledger.get(MESSAGE_ID)).toEqual({
        messageId: MESSAGE_ID,
        receivedAt: '2019-08-05T21:30:02.028Z',
        sender: 'prvs=144d0cba7=sender@example.com',
        decisions: [{ recipient: 'recipient@example.com', action: 'bounce', ruleId: 'rule-bounce', bounce: BOUNCE }],
        guard: { allowed: true, reasons: [] },
        state: 'PENDING',
        attempts: 0,
        createdAt: '2019-08-05T21:30:05.000Z',
        updatedAt: '2019-08-05T21:30:05.000Z',
        expiresAt: T0 / 1000 + 30 * 86400,
      });
      expect(h.queue.jobs.map((q) => q.job)).toEqual<BounceJob[]>([
        {
          messageId: MESSAGE_ID,
          receivedAt: '2019-08-05T21:30:02.028Z',
          sender: 'prvs=144d0cba7=sender@example.com',
          recipients: [{ recipient: 'recipient@example.com', ruleId: 'rule-bounce', bounce: BOUNCE }],
        },
      ]);
      expect(h.budget.consumed).toEqual(['prvs=144d0cba7=sender@example.com']);
      expect(h.ledger.writes).toBe(1);
      expect(h.recorder.total('RecipientsBounced')).toBe(1);
      expect(h.recorder.total('BouncesQueued')).toBe(1);
    });

    it('completes truncated headers before the guard when a bounce is decided', async () => {
      const h = harness({ rules: bounceAll() });
      await receiveMessage(h.deps, sesRecord((e) => (e.Records[0].ses.mail.headersTruncated = true)));
      expect(h.mail.calls).toEqual([{ method: 'readHeaders', messageId: MESSAGE_ID }]);
      expect(h.guardSaw[0].headersComplete).toBe(true);
      expect(h.guardSaw[0].headers.find((x) => x.name === 'Auto-Submitted')?.value).toBe('no');
    });

    it('records SKIPPED with the reasons and queues nothing when the guard refuses', async () => {
      const h = harness({ rules: bounceAll(), guard: { allowed: false, reasons: ['sender-not-authenticated', 'spam-verdict'] } });
      const result = await receiveMessage(h.deps, sesRecord());
      expect(result).toMatchObject({
        disposition: 'STOP_RULE_SET',
        outcome: { kind: 'skipped', reasons: ['sender-not-authenticated', 'spam-verdict'] },
      });
      expect(await h.ledger.get(MESSAGE_ID)).toMatchObject({
        state: 'SKIPPED',
        guard: { allowed: false, reasons: ['sender-not-authenticated', 'spam-verdict'] },
      });
      expect(h.queue.jobs).toEqual([]);
      expect(h.budget.consumed).toEqual([]);
      expect(h.recorder.total('BouncesSkipped', { reason: 'spam-verdict' })).toBe(1);
      expect(h.recorder.total('BouncesSkipped', { reason: 'sender-not-authenticated' })).toBe(1);
    });

    it('records SKIPPED with sender-budget-exceeded and queues nothing when the budget is spent', async () => {
      const h = harness({ rules: bounceAll(), budget: 0 });
      const result = await receiveMessage(h.deps, sesRecord());
      expect(result.outcome).toEqual({ kind: 'skipped', reasons: ['sender-budget-exceeded'] });
      expect(await h.ledger.get(MESSAGE_ID)).toMatchObject({
        state: 'SKIPPED',
        guard: { allowed: false, reasons: ['sender-budget-exceeded'] },
      });
      expect(h.queue.jobs).toEqual([]);
      expect(h.ledger.writes).toBe(2);
      expect(h.recorder.total('BouncesSkipped', { reason: 'sender-budget-exceeded' })).toBe(1);
    });

    it('records SKIPPED with the error and queues nothing when the budget cannot be checked', async () => {
      const h = harness({ rules: bounceAll() });
      h.budget.consume = async () => {
        throw new Error('dynamodb unreachable');
      };
      const result = await receiveMessage(h.deps, sesRecord());
      expect(result.outcome).toEqual({ kind: 'skipped', reasons: ['sender-budget-exceeded'] });
      expect(await h.ledger.get(MESSAGE_ID)).toMatchObject({
        state: 'SKIPPED',
        lastError: 'sender budget unavailable: dynamodb unreachable',
      });
      expect(h.queue.jobs).toEqual([]);
    });

    it('queues no second job and spends no second budget when the event is delivered again', async () => {
      const h = harness({ rules: bounceAll() });
      await receiveMessage(h.deps, sesRecord());
      h.clock.ms += 5_000;
      const again = await receiveMessage(h.deps, sesRecord());
      expect(again).toMatchObject({ disposition: 'STOP_RULE_SET', outcome: { kind: 'duplicate', state: 'PENDING', requeued: false } });
      expect(h.queue.jobs).toHaveLength(1);
      expect(h.budget.consumed).toHaveLength(1);
      expect(h.recorder.total('RecipientsBounced')).toBe(1);
    });

    it('queues exactly one job when 20 duplicate invocations run concurrently', async () => {
      const h = harness({ rules: bounceAll() });
      const results = await Promise.all(Array.from({ length: 20 }, () => receiveMessage(h.deps, sesRecord())));
      expect(results.filter((r) => r.outcome.kind === 'queued')).toHaveLength(1);
      expect(results.filter((r) => r.outcome.kind === 'duplicate')).toHaveLength(19);
      expect(h.queue.jobs).toHaveLength(1);
      expect(h.budget.consumed).toHaveLength(1);
    });

    it('does nothing for a duplicate when the claim has moved on from PENDING', async () => {
      const h = harness({ rules: bounceAll() });
      await receiveMessage(h.deps, sesRecord());
      await h.ledger.inner.transition(MESSAGE_ID, ['PENDING'], 'SENT', { sesBounceMessageId: 'x' });
      h.clock.ms += 3_600_000;
      const again = await receiveMessage(h.deps, sesRecord());
      expect(again.outcome).toEqual({ kind: 'duplicate', state: 'SENT', requeued: false });
      expect(h.queue.jobs).toHaveLength(1);
    });

    it('re-enqueues the stored job when a duplicate finds the claim PENDING past the recovery age', async () => {
      const failing = new MemoryBounceQueue();
      let fail = true;
      const flaky: BounceQueue = {
        enqueue: async (job, opts) => {
          if (fail) throw new Error('sqs unavailable');
          return failing.enqueue(job, opts);
        },
      };
      const h = harness({ rules: bounceAll(), queue: flaky });
      await expect(receiveMessage(h.deps, sesRecord())).rejects.toThrow('sqs unavailable');
      expect(await h.ledger.get(MESSAGE_ID)).toMatchObject({ state: 'PENDING' });
      fail = false;

      // Lambda's retry within the recovery age: the claimant may still be working.
      h.clock.ms += 30_000;
      expect((await receiveMessage(h.deps, sesRecord())).outcome).toEqual({ kind: 'duplicate', state: 'PENDING', requeued: false });
      expect(failing.jobs).toHaveLength(0);

      // A retry past it re-enqueues the stored decisions.
      h.clock.ms += 31_000;
      expect((await receiveMessage(h.deps, sesRecord())).outcome).toEqual({ kind: 'duplicate', state: 'PENDING', requeued: true });
      expect(failing.jobs.map((q) => q.job.recipients)).toEqual([
        [{ recipient: 'recipient@example.com', ruleId: 'rule-bounce', bounce: BOUNCE }],
      ]);
      expect(h.budget.consumed).toHaveLength(1);
    });

    it('continues and bounces only the bounced recipients when decisions are mixed', async () => {
      const h = harness({ rules: new FakeRules((r) => (r === 'gone@example.com' ? 'bounce' : 'allow')) });
      const result = await receiveMessage(
        h.deps,
        sesRecord((e) => (e.Records[0].ses.receipt.recipients = ['gone@example.com', 'here@example.com'])),
      );
      expect(result).toMatchObject({ disposition: 'CONTINUE', outcome: { kind: 'queued', recipients: 1 } });
      expect(h.queue.jobs[0].job.recipients.map((r) => r.recipient)).toEqual(['gone@example.com']);
      expect((await h.ledger.get(MESSAGE_ID))?.decisions.map((d) => d.action)).toEqual(['bounce', 'allow']);
    });

    it('throws MailNotFoundError, bounces nothing and counts it when a needed message is missing', async () => {
      const h = harness({ rules: new FakeRules(() => 'bounce', { headers: false, size: false, body: true }), withMessage: false });
      await expect(receiveMessage(h.deps, sesRecord())).rejects.toBeInstanceOf(MailNotFoundError);
      expect(h.ledger.writes).toBe(0);
      expect(h.queue.jobs).toEqual([]);
      expect(h.recorder.total(MetricName.MailReadFailed)).toBe(1);
      expect(h.recorder.logs.find((l) => l.level === 'error')?.extra).toMatchObject({ messageId: MESSAGE_ID, outcome: 'mail-not-found' });
    });

    it('throws MailNotFoundError when a bounce needs the full headers and the message is missing', async () => {
      const h = harness({ rules: bounceAll(), withMessage: false });
      await expect(
        receiveMessage(h.deps, sesRecord((e) => (e.Records[0].ses.mail.headersTruncated = true))),
      ).rejects.toBeInstanceOf(MailNotFoundError);
      expect(h.ledger.writes).toBe(0);
    });

    it('defect 7: a body the MIME parser refuses makes only attachment conditions unknown; other decisions stand', async () => {
      const rules = compileRules([
        { ruleId: 'a-subject', recipients: ['a@example.com'], subject: ['*'], action: 'bounce' },
        { ruleId: 'b-exe', recipients: ['b@example.com'], attachmentNames: ['*.exe'], action: 'bounce' },
        { ruleId: 'c-keep-pdf', recipients: ['c@example.com'], attachmentTypes: ['application/pdf'], action: 'allow', priority: 1 },
        { ruleId: 'c-catch-all', recipients: ['c@example.com'], action: 'bounce', priority: 500 },
      ]).rules;
      const h = harness({ rules: new FakeRules(() => 'default'), withMessage: false });
      const deps = { ...h.deps, rules: { current: async () => rules } };
      const parts = Array.from({ length: 1100 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\n${i}`);
      h.mail.put(MESSAGE_ID, ['Subject: hello', 'Content-Type: multipart/mixed; boundary="b"', '', ...parts, '--b--', ''].join('\r\n'));
      const result = await receiveMessage(
        deps,
        sesRecord((e) => (e.Records[0].ses.receipt.recipients = ['a@example.com', 'b@example.com', 'c@example.com'])),
      );
      expect(result.outcome).toEqual({ kind: 'queued', recipients: 1 });
      expect(result.decisions.map((d) => [d.recipient, d.action])).toEqual([
        ['a@example.com', 'bounce'],
        ['b@example.com', 'default'],
        ['c@example.com', 'default'],
      ]);
      expect(h.queue.jobs[0].job.recipients.map((r) => r.ruleId)).toEqual(['a-subject']);
      expect(h.recorder.total(MetricName.MailUnparsed)).toBe(1);
      const warn = h.recorder.logs.find((l) => l.message === 'stored message could not be parsed; attachment conditions are unknown');
      expect(warn?.extra).toMatchObject({ messageId: MESSAGE_ID, error: expect.stringMatching(/\S/) });
    });

    it('defect 10: queues the recipients SES can take, records and counts the non-ascii ones', async () => {
      const h = harness({ rules: bounceAll() });
      const result = await receiveMessage(
        h.deps,
        sesRecord((e) => (e.Records[0].ses.receipt.recipients = ['former@example.com', 'jürgen@example.com'])),
      );
      expect(result.outcome).toEqual({ kind: 'queued', recipients: 1 });
      expect(h.queue.jobs[0].job.recipients.map((r) => r.recipient)).toEqual(['former@example.com']);
      expect(await h.ledger.get(MESSAGE_ID)).toMatchObject({ state: 'PENDING', unbounceable: ['jürgen@example.com'] });
      expect(h.recorder.total(MetricName.RecipientsUnbounceable)).toBe(1);
    });

    it('defect 10: skips with recipient-unbounceable when no bounced recipient is one SES can take', async () => {
      const h = harness({ rules: bounceAll() });
      const result = await receiveMessage(h.deps, sesRecord((e) => (e.Records[0].ses.receipt.recipients = ['jürgen@example.com'])));
      expect(result.outcome).toEqual({ kind: 'skipped', reasons: ['recipient-unbounceable'] });
      expect(h.queue.jobs).toEqual([]);
      expect(await h.ledger.get(MESSAGE_ID)).toMatchObject({ state: 'SKIPPED', unbounceable: ['jürgen@example.com'] });
    });

    it('logs one masked line per recipient decision and no header values', async () => {
      const h = harness({ rules: new FakeRules((r) => (r.startsWith('a') ? 'bounce' : 'default')) });
      await receiveMessage(
        h.deps,
        sesRecord((e) => (e.Records[0].ses.receipt.recipients = ['alice@example.com', 'bob@example.org'])),
      );
      const decisions = h.recorder.logs.filter((l) => l.message === 'recipient decision');
      expect(decisions.map((l) => l.extra)).toEqual([
        { messageId: MESSAGE_ID, ruleId: 'rule-bounce', action: 'bounce', recipient: 'a***@example.com' },
        { messageId: MESSAGE_ID, ruleId: undefined, action: 'default', recipient: 'b***@example.org' },
      ]);
      const everything = JSON.stringify(h.recorder.logs);
      expect(everything).not.toContain('This is a test');
      expect(everything).not.toContain('alice@');
      expect(everything).not.toContain('sender@example.com');
    });
  });

  describe('issue 15: drops and shadow matches', () => {
    const SENDER = 'prvs=144d0cba7=sender@example.com';
    const to = (...recipients: string[]) => sesRecord((e) => (e.Records[0].ses.receipt.recipients = recipients));
    /** The harness with real rules compiled from items, and the stack-wide switch. */
    function withRules(items: unknown[], options: { guard?: GuardVerdict; budget?: number; shadowMode?: boolean; withMessage?: boolean } = {}) {
      const h = harness({ rules: bounceAll(), guard: options.guard, budget: options.budget, withMessage: options.withMessage });
      const compiled = compileRules(items);
      expect(compiled.invalid).toEqual([]);
      const deps: ReceiveDeps = { ...h.deps, rules: { current: async () => compiled.rules }, shadowMode: options.shadowMode };
      return { ...h, deps };
    }
    const shadowBounce = { ruleId: 'try-bounce', recipients: ['example.com'], action: 'bounce', mode: 'shadow' };
    const drop = { ruleId: 'trap', recipients: ['trap@example.com'], action: 'drop' };

    it('records a shadow match as SHADOW with the guard verdict and the peeked budget, spends nothing and queues nothing', async () => {
      const h = withRules([shadowBounce]);
      const result = await receiveMessage(h.deps, sesRecord((e) => (e.Records[0].ses.mail.headersTruncated = true)));
      expect(result).toMatchObject({
        disposition: 'CONTINUE',
        outcome: { kind: 'shadow', matches: 1, verdict: { guard: { allowed: true, reasons: [] }, budget: 'within' } },
      });
      expect(await h.ledger.get(MESSAGE_ID)).toEqual({
        messageId: MESSAGE_ID,
        receivedAt: '2019-08-05T21:30:02.028Z',
        sender: SENDER,
        decisions: [
          { recipient: 'recipient@example.com', action: 'default', defaultAction: 'deliver', shadow: [{ ruleId: 'try-bounce', action: 'bounce' }] },
        ],
        guard: { allowed: true, reasons: [] },
        state: 'SHADOW',
        shadowVerdict: { guard: { allowed: true, reasons: [] }, budget: 'within' },
        attempts: 0,
        createdAt: '2019-08-05T21:30:05.000Z',
        updatedAt: '2019-08-05T21:30:05.000Z',
        expiresAt: T0 / 1000 + 30 * 86400,
      });
      // The guard saw the whole header block, as it would for a real bounce.
      expect(h.guardSaw[0].headersComplete).toBe(true);
      expect(h.budget.peeked).toEqual([SENDER]);
      expect(h.budget.consumed).toEqual([]);
      expect(h.queue.jobs).toEqual([]);
      expect(h.ledger.writes).toBe(1);
      expect(h.recorder.total(MetricName.ShadowMatches, { outcome: 'would-bounce' })).toBe(1);
      expect(h.recorder.logs.find((l) => l.message === 'recipient decision')?.extra.shadow).toEqual(['try-bounce:would-bounce']);
    });

    it('records the guard refusal and does not read the budget when the guard would have refused', async () => {
      const h = withRules([shadowBounce], { guard: { allowed: false, reasons: ['spam-verdict'] } });
      const result = await receiveMessage(h.deps, sesRecord());
      expect(result.outcome).toEqual({ kind: 'shadow', matches: 1, verdict: { guard: { allowed: false, reasons: ['spam-verdict'] }, budget: 'not-checked' } });
      expect(await h.ledger.get(MESSAGE_ID)).toMatchObject({ state: 'SHADOW', guard: { allowed: false, reasons: ['spam-verdict'] } });
      expect(h.budget.peeked).toEqual([]);
      expect(h.recorder.total(MetricName.ShadowMatches, { outcome: 'guard-refused' })).toBe(1);
      expect(h.recorder.total(MetricName.BouncesSkipped)).toBe(0);
    });

    it('records budget spent when the sender has no budget left, and leaves it as it was', async () => {
      const h = withRules([shadowBounce], { budget: 0 });
      const result = await receiveMessage(h.deps, sesRecord());
      expect(result.outcome).toMatchObject({ kind: 'shadow', verdict: { budget: 'spent' } });
      expect(h.budget.remaining).toBe(0);
      expect(h.recorder.total(MetricName.ShadowMatches, { outcome: 'budget-spent' })).toBe(1);
    });

    it('records budget unavailable, and still writes the record, when the budget cannot be read', async () => {
      const h = withRules([shadowBounce]);
      h.budget.peek = async () => {
        throw new Error('dynamodb unreachable');
      };
      const result = await receiveMessage(h.deps, sesRecord());
      expect(result.outcome).toMatchObject({ kind: 'shadow', verdict: { budget: 'unavailable' } });
      expect(await h.ledger.get(MESSAGE_ID)).toMatchObject({ state: 'SHADOW', shadowVerdict: { budget: 'unavailable' } });
      expect(h.recorder.total(MetricName.ShadowMatches, { outcome: 'budget-unavailable' })).toBe(1);
    });

    it('writes nothing when a shadow rule sits behind the allow rule that decides', async () => {
      const h = withRules([{ ruleId: 'keep', recipients: ['example.com'], action: 'allow', priority: 1 }, { ...shadowBounce, priority: 2 }]);
      const result = await receiveMessage(h.deps, sesRecord());
      expect(result.outcome).toEqual({ kind: 'no-bounce' });
      expect(h.ledger.writes).toBe(0);
      expect(h.guardSaw).toEqual([]);
      expect(h.budget.peeked).toEqual([]);
    });

    it('drops every recipient as DROPPED with STOP_RULE_SET: no guard, no budget, no job', async () => {
      const h = withRules([drop]);
      const result = await receiveMessage(h.deps, to('trap@example.com', 'TRAP+x@example.com'));
      expect(result).toMatchObject({ disposition: 'STOP_RULE_SET', outcome: { kind: 'dropped', recipients: 2 } });
      expect(await h.ledger.get(MESSAGE_ID)).toMatchObject({
        state: 'DROPPED',
        guard: { allowed: true, reasons: [] },
        decisions: [
          { recipient: 'trap@example.com', action: 'drop', ruleId: 'trap' },
          { recipient: 'TRAP+x@example.com', action: 'drop', ruleId: 'trap' },
        ],
      });
      expect((await h.ledger.get(MESSAGE_ID))?.shadowVerdict).toBeUndefined();
      expect(h.guardSaw).toEqual([]);
      expect(h.budget.peeked).toEqual([]);
      expect(h.budget.consumed).toEqual([]);
      expect(h.queue.jobs).toEqual([]);
      expect(h.ledger.writes).toBe(1);
      expect(h.recorder.total(MetricName.RecipientsDropped)).toBe(2);
      expect(h.recorder.total(MetricName.RecipientsBounced)).toBe(0);
    });

    it('continues the rule set when a recipient is neither bounced nor dropped', async () => {
      const h = withRules([drop]);
      const result = await receiveMessage(h.deps, to('trap@example.com', 'alice@example.com'));
      expect(result).toMatchObject({ disposition: 'CONTINUE', outcome: { kind: 'dropped', recipients: 1 } });
    });

    it('stops the rule set when some recipients are bounced and the others dropped; the job carries only the bounces', async () => {
      const h = withRules([drop, { ruleId: 'gone', recipients: ['gone@example.com'], action: 'bounce' }]);
      const result = await receiveMessage(h.deps, to('trap@example.com', 'gone@example.com'));
      expect(result).toMatchObject({ disposition: 'STOP_RULE_SET', outcome: { kind: 'queued', recipients: 1 } });
      expect(h.queue.jobs.map((q) => q.job.recipients.map((r) => r.recipient))).toEqual([['gone@example.com']]);
      expect(await h.ledger.get(MESSAGE_ID)).toMatchObject({
        state: 'PENDING',
        decisions: [expect.objectContaining({ recipient: 'gone@example.com', action: 'bounce' }), { recipient: 'trap@example.com', action: 'drop', ruleId: 'trap' }],
      });
      expect(h.recorder.total(MetricName.RecipientsDropped)).toBe(1);
      expect(h.recorder.total(MetricName.RecipientsBounced)).toBe(1);
    });

    it('keeps the shadow matches on the decisions of a message with a real bounce, counted by the real verdict', async () => {
      const h = withRules([{ ...shadowBounce, priority: 1 }, { ruleId: 'gone', recipients: ['example.com'], action: 'bounce', priority: 2 }]);
      const result = await receiveMessage(h.deps, sesRecord());
      expect(result.outcome).toEqual({ kind: 'queued', recipients: 1 });
      expect((await h.ledger.get(MESSAGE_ID))?.decisions[0]).toMatchObject({ action: 'bounce', ruleId: 'gone', shadow: [{ ruleId: 'try-bounce', action: 'bounce' }] });
      expect(h.budget.consumed).toEqual([SENDER]);
      expect(h.budget.peeked).toEqual([]);
      expect(h.recorder.total(MetricName.ShadowMatches, { outcome: 'would-bounce' })).toBe(1);
    });

    it('stack-wide shadow mode: a bounce rule and a drop rule are only recorded, nothing is spent, queued or stopped', async () => {
      const h = withRules([drop, { ruleId: 'gone', recipients: ['gone@example.com'], action: 'bounce' }], { shadowMode: true });
      const result = await receiveMessage(h.deps, to('trap@example.com', 'gone@example.com'));
      expect(result).toMatchObject({ disposition: 'CONTINUE', outcome: { kind: 'shadow', matches: 2, verdict: { budget: 'within' } } });
      expect(await h.ledger.get(MESSAGE_ID)).toMatchObject({
        state: 'SHADOW',
        decisions: [
          { recipient: 'trap@example.com', action: 'default', shadow: [{ ruleId: 'trap', action: 'drop', stackWide: true }] },
          { recipient: 'gone@example.com', action: 'default', shadow: [{ ruleId: 'gone', action: 'bounce', stackWide: true }] },
        ],
      });
      expect(h.queue.jobs).toEqual([]);
      expect(h.budget.consumed).toEqual([]);
      expect(h.recorder.total(MetricName.RecipientsDropped)).toBe(0);
      expect(h.recorder.total(MetricName.ShadowMatches, { outcome: 'would-drop' })).toBe(1);
      expect(h.recorder.total(MetricName.ShadowMatches, { outcome: 'would-bounce' })).toBe(1);
    });

    it('does not fail a message when only a shadow rule needed the stored mail and it cannot be read: the shadow rule is not recorded', async () => {
      const h = withRules([{ ...shadowBounce, maxSizeBytes: 1_000_000 }], { withMessage: false });
      const result = await receiveMessage(h.deps, sesRecord());
      expect(result.outcome).toEqual({ kind: 'no-bounce' });
      expect(h.ledger.writes).toBe(0);
      expect(h.recorder.logs.some((l) => l.message === 'stored message could not be read for shadow rules; their conditions on it are unknown')).toBe(true);
    });

    it('still fails the message when an enforced rule needs the unreadable mail (retried, never a wrong decision)', async () => {
      const h = withRules([{ ...shadowBounce, maxSizeBytes: 1_000_000 }, { ruleId: 'big', recipients: ['example.com'], action: 'bounce', minSizeBytes: 1 }], { withMessage: false });
      await expect(receiveMessage(h.deps, sesRecord())).rejects.toBeInstanceOf(MailNotFoundError);
      expect(h.ledger.writes).toBe(0);
    });

    it('records the guard refusing incomplete headers when the full block for a shadow verdict cannot be read', async () => {
      const h = withRules([shadowBounce], { withMessage: false });
      const result = await receiveMessage(h.deps, sesRecord((e) => (e.Records[0].ses.mail.headersTruncated = true)));
      expect(result.outcome).toMatchObject({ kind: 'shadow' });
      expect(h.guardSaw[0].headersComplete).toBe(false);
    });

    it.each([
      ['a shadow', [shadowBounce], 'SHADOW'],
      ['a drop', [drop], 'DROPPED'],
    ])('writes nothing new and counts nothing twice when %s message is delivered again', async (_name, items, state) => {
      const h = withRules(items);
      await receiveMessage(h.deps, to('trap@example.com'));
      const first = await h.ledger.get(MESSAGE_ID);
      const metricsBefore = h.recorder.metrics.length;
      h.clock.ms += 120_000;
      const again = await receiveMessage(h.deps, to('trap@example.com'));
      expect(again.outcome).toEqual({ kind: 'duplicate', state, requeued: false });
      expect(await h.ledger.get(MESSAGE_ID)).toEqual(first);
      expect(h.queue.jobs).toEqual([]);
      expect(h.budget.consumed).toEqual([]);
      // Only MessagesReceived again.
      expect(h.recorder.metrics.slice(metricsBefore).map((m) => m.name)).toEqual([MetricName.MessagesReceived]);
    });
  });
});
