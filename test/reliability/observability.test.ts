/**
 * Observability: what the functions print, captured from the real Powertools
 * Logger and Metrics while the real receive and send wiring runs against
 * s3rver, DynamoDB Local and the SES stand-in.
 *
 * Logs must be JSON with `messageId` (and `ruleId` on decisions), carry no
 * body, Subject, header value or attachment name, and mask addresses unless
 * LOG_ADDRESSES=true. Metrics must come out as CloudWatch EMF for every
 * outcome an operator alarms on: received, bounced, queued, sent, skipped by
 * reason, expired, failed, throttled, invalid rules, mail read failures,
 * queue age.
 */
import { PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { SESClient } from '@aws-sdk/client-ses';
import { SQSClient } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { DynamoDbMessageLedger } from '../../lambda/adapters/dynamodb/message-ledger';
import { MemoryBounceQueue } from '../../lambda/adapters/memory/bounce-queue';
import { buildReceiveDeps, createReceiveHandler } from '../../lambda/app/receive-wiring';
import { buildSendDeps, createSendHandler } from '../../lambda/app/send-wiring';
import { METRICS_NAMESPACE, MetricName, metrics } from '../../lambda/commons/metrics';
import { loadConfig, type Config } from '../../lambda/config/config';
import { RULES_PARTITION_KEY, STATE_PARTITION_KEY } from '../../lambda/config/tables';
import type { BounceJob } from '../../lambda/ports';
import { startSesStandIn } from '../../local/ses-stand-in';
import type { SesStandIn } from '../../local/ses-stand-in/types';
import { createTable, localDynamoDbClient, uniqueTableName } from '../support/dynamodb';
import { startLocalS3, type LocalS3 } from '../support/s3';
import { captureOutput, type OutputCapture } from './log-capture';
import { sesClientFor } from '../support/ses';

const CRLF = '\r\n';
const SENDER = 'alice.sender@sender.example';
const GONE = 'gone@obs.example';
const SCAN = 'scan@obs.example';
const KEEP = 'keep@obs.example';
const PREFIX = 'inbound/';

/** Text that appears in the mail and must never appear in a log line. */
const SECRETS = {
  subject: 'Quarterly-figures-SUBJECT-7f3a',
  body: 'confidential-BODY-9c1e',
  header: 'private-HEADER-VALUE-2b8d',
  attachment: 'salaries-ATTACHMENT-5e0f.pdf',
  displayName: 'Alice-DISPLAY-NAME-4d2c',
};

function mail(extraHeaders: string[] = [], parts = 1): string {
  const b = 'obs-boundary';
  const head = [
    `From: ${SECRETS.displayName} <${SENDER}>`,
    `To: ${GONE}, ${SCAN}, ${KEEP}`,
    `Subject: ${SECRETS.subject}`,
    `X-Private: ${SECRETS.header}`,
    'MIME-Version: 1.0',
    ...extraHeaders,
    `Content-Type: multipart/mixed; boundary="${b}"`,
  ];
  const body = [`--${b}`, 'Content-Type: text/plain', '', SECRETS.body];
  body.push(`--${b}`, `Content-Type: application/pdf; name="${SECRETS.attachment}"`, `Content-Disposition: attachment; filename="${SECRETS.attachment}"`, 'Content-Transfer-Encoding: base64', '', Buffer.from('%PDF-1.4').toString('base64'));
  for (let i = 1; i < parts; i++) body.push(`--${b}`, '', `part ${i}`);
  body.push(`--${b}--`, '');
  return [...head, '', ...body].join(CRLF);
}

function event(messageId: string, receivedAt = new Date()): Record<string, unknown> {
  return {
    Records: [
      {
        eventSource: 'aws:ses',
        eventVersion: '1.0',
        ses: {
          mail: { timestamp: receivedAt.toISOString(), source: SENDER, messageId, destination: [GONE], headersTruncated: true, headers: [] },
          receipt: {
            recipients: [GONE, SCAN, KEEP],
            spamVerdict: { status: 'PASS' },
            virusVerdict: { status: 'PASS' },
            spfVerdict: { status: 'PASS' },
            dkimVerdict: { status: 'PASS' },
            dmarcVerdict: { status: 'PASS' },
            action: { type: 'Lambda', invocationType: 'Event' },
          },
        },
      },
    ],
  };
}

function sqsEvent(jobs: BounceJob[]): SQSEvent {
  return {
    Records: jobs.map((job, i) => ({
      messageId: `sqs-${i}-${job.messageId}`,
      receiptHandle: 'r',
      body: JSON.stringify(job),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 's', ApproximateFirstReceiveTimestamp: '0' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:bounces',
      awsRegion: 'us-east-1',
    })),
  };
}

/** Names of the metrics in an EMF document, with the document's dimension values. */
function metricsIn(doc: Record<string, unknown>): { names: string[]; namespace: string; dimensions: string[][] } {
  const aws = doc._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  const directive = aws.CloudWatchMetrics[0];
  return { names: directive.Metrics.map((m) => m.Name), namespace: directive.Namespace, dimensions: directive.Dimensions };
}

describe('observability', () => {
  jest.setTimeout(60_000);

  let s3: LocalS3;
  let db: DynamoDBClient;
  let ses: SESClient;
  let standIn: SesStandIn;
  let bucket: string;
  let rulesTable: string;
  let stateTable: string;
  let out: OutputCapture;
  /** Everything the run printed, captured once. */
  let captured: ReturnType<OutputCapture['lines']>;
  let text: string;
  let revealed: ReturnType<OutputCapture['lines']>;
  const ids = {
    bounced: 'obs-bounced-000000',
    autoReply: 'obs-auto-reply-000000',
    malformed: 'obs-malformed-000000',
    missing: 'obs-missing-object-000000',
    throttled: 'obs-throttled-000000',
    rejected: 'obs-rejected-000000',
    expired: 'obs-expired-000000',
    revealed: 'obs-revealed-000000',
  };

  const configFor = (logAddresses: boolean): Config =>
    loadConfig({
      BOUNCE_SENDER: 'mailer-daemon@obs.example',
      REPORTING_MTA: 'mx.obs.example',
      RULES_TABLE: rulesTable,
      STATE_TABLE: stateTable,
      BOUNCE_QUEUE_URL: 'local://queue',
      MAIL_BUCKET: bucket,
      MAIL_PREFIX: PREFIX,
      SENDER_BUDGET_PER_ADDRESS: '1000',
      SENDER_BUDGET_PER_DOMAIN: '1000',
      RATE_GATE_KEY: `obs-${Date.now()}`,
      LOG_ADDRESSES: logAddresses ? 'true' : 'false',
    });

  beforeAll(async () => {
    s3 = await startLocalS3();
    bucket = await s3.createBucket(`obs-${Date.now()}`);
    db = localDynamoDbClient();
    standIn = await startSesStandIn();
    ses = sesClientFor(standIn);
    rulesTable = uniqueTableName('obs-rules');
    stateTable = uniqueTableName('obs-state');
    await createTable(db, rulesTable, RULES_PARTITION_KEY);
    await createTable(db, stateTable, STATE_PARTITION_KEY);
    const rules = [
      { ruleId: 'obs-gone', recipients: [GONE], action: 'bounce', bounceType: 'DoesNotExist' },
      { ruleId: 'obs-scan', recipients: [SCAN], attachmentNames: ['*.exe'], subject: ['*invoice*'], action: 'bounce', bounceType: 'ContentRejected' },
      { ruleId: 'obs-keep', recipients: [KEEP], action: 'allow' },
      { ruleId: 'obs-broken', recipients: ['broken@obs.example'], action: 'reject' },
    ];
    for (const rule of rules) await db.send(new PutItemCommand({ TableName: rulesTable, Item: marshall(rule) }));
    const put = async (id: string, raw: string) => s3.client().send(new PutObjectCommand({ Bucket: bucket, Key: `${PREFIX}${id}`, Body: raw }));
    await put(ids.bounced, mail());
    await put(ids.autoReply, mail(['Auto-Submitted: auto-replied']));
    await put(ids.malformed, mail([], 1200));
    for (const id of [ids.throttled, ids.rejected, ids.revealed]) await put(id, mail());

    const clients = { dynamodb: db, s3: s3.client(), sqs: new SQSClient({}), ses };
    const queue = new MemoryBounceQueue();
    const config = configFor(false);
    const flush = () => metrics.publishStoredMetrics();
    const receive = createReceiveHandler({ ...buildReceiveDeps(config, clients), queue }, { flush });
    const send = createSendHandler({ ...buildSendDeps(config, clients), queue: new MemoryBounceQueue() }, { flush });

    out = captureOutput();
    try {
      for (const id of [ids.bounced, ids.autoReply, ids.malformed, ids.throttled, ids.rejected]) await receive(event(id));
      await receive(event(ids.missing)).catch(() => undefined);
      const jobs = queue.take().map((q) => q.job);
      for (const job of jobs) standIn.registerReceived(job.messageId, { receivedAt: new Date(job.receivedAt), sender: job.sender });

      await send(sqsEvent(jobs.filter((j) => j.messageId === ids.bounced)));
      standIn.injectFaults(1, { code: 'Throttling', status: 400, message: 'Maximum sending rate exceeded.' });
      await send(sqsEvent(jobs.filter((j) => j.messageId === ids.throttled)));
      standIn.injectFaults(1, { code: 'MessageRejected', status: 400, message: 'Email address is not verified.' });
      await send(sqsEvent(jobs.filter((j) => j.messageId === ids.rejected)));

      // A job whose message arrived 25 hours ago: past SendBounce's window.
      const old = new Date(Date.now() - 25 * 3600_000).toISOString();
      const ledger = new DynamoDbMessageLedger({ client: db, tableName: stateTable });
      const template = jobs[0];
      await ledger.claim({
        messageId: ids.expired,
        receivedAt: old,
        sender: SENDER,
        decisions: template.recipients.map((r) => ({ recipient: r.recipient, action: 'bounce' as const, ruleId: r.ruleId, bounce: r.bounce })),
        guard: { allowed: true, reasons: [] },
        state: 'PENDING',
        attempts: 0,
        createdAt: old,
        updatedAt: old,
        expiresAt: Math.floor(Date.now() / 1000) + 86_400,
      });
      await send(sqsEvent([{ ...template, messageId: ids.expired, receivedAt: old }]));
      captured = out.lines();
      text = out.text();

      // The same message with LOG_ADDRESSES=true.
      out.clear();
      const reveal = createReceiveHandler({ ...buildReceiveDeps(configFor(true), clients), queue: new MemoryBounceQueue() }, { flush });
      await reveal(event(ids.revealed));
      revealed = out.lines();
    } finally {
      out.restore();
    }
  });

  afterAll(async () => {
    db?.destroy();
    ses?.destroy();
    await standIn?.close();
    await s3?.stop();
  });

  const logs = () => captured.flatMap((l) => (l.json && 'level' in l.json ? [l.json] : []));
  const emf = () => captured.flatMap((l) => (l.json && '_aws' in l.json ? [l.json] : []));

  describe('logs', () => {
    it('prints every line as a JSON object: log entries and EMF documents only', () => {
      expect(captured.length).toBeGreaterThan(20);
      expect(captured.filter((l) => !l.json).map((l) => l.text)).toEqual([]);
      for (const entry of logs()) {
        expect(entry).toMatchObject({ level: expect.any(String), message: expect.any(String), timestamp: expect.any(String), service: 'ses-bouncer' });
      }
    });

    it('carries messageId on every entry about a message, and ruleId on every rule decision', () => {
      // Entries about the rule table as a whole are the only ones without a message.
      const tableWide = new Set(['rules loaded', 'invalid rule skipped', 'rule attribute ignored']);
      const perMessage = logs().filter((l) => !tableWide.has(String(l.message)));
      expect(perMessage.length).toBeGreaterThan(10);
      for (const entry of perMessage) expect(entry.messageId).toEqual(expect.stringMatching(/^obs-/));
      const decisions = logs().filter((l) => l.message === 'recipient decision');
      expect(decisions.map((d) => [d.messageId, d.ruleId, d.action])).toEqual(
        expect.arrayContaining([
          [ids.bounced, 'obs-gone', 'bounce'],
          [ids.bounced, 'obs-keep', 'allow'],
        ]),
      );
      for (const d of decisions.filter((x) => x.action !== 'default')) expect(d.ruleId).toMatch(/^obs-/);
      expect(logs().find((l) => l.message === 'invalid rule skipped')).toMatchObject({ ruleId: 'obs-broken' });
    });

    it('logs why each message was not bounced: guard reason, parse failure, missing object, expiry, rejection', () => {
      const by = (id: string) => logs().filter((l) => l.messageId === id).map((l) => l.message);
      expect(logs().find((l) => l.messageId === ids.autoReply && l.message === 'bounce skipped')).toMatchObject({ reasons: ['auto-submitted'] });
      expect(by(ids.malformed)).toContain('stored message could not be parsed; attachment conditions are unknown');
      expect(by(ids.missing)).toContain('stored message not found; not bouncing');
      expect(by(ids.expired)).toContain('bounce expired: past the 24 h SendBounce window');
      expect(by(ids.rejected)).toContain('bounce failed');
      expect(by(ids.bounced)).toContain('bounce sent');
      expect(by(ids.throttled)).toContain('bounce sent');
    });

    it('never contains the body, the Subject, a header value, an attachment name or a display name', () => {
      for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
      expect(text).not.toContain('Quarterly');
    });

    it('masks every sender and recipient address by default', () => {
      for (const address of [SENDER, GONE, SCAN, KEEP]) expect(text).not.toContain(address);
      expect(text).toContain('a***@sender.example');
      expect(text).toContain('g***@obs.example');
      expect(text).toContain('k***@obs.example');
    });

    it('shows addresses in clear when LOG_ADDRESSES=true', () => {
      const revealedText = revealed.map((l) => l.text).join('\n');
      expect(revealedText).toContain(SENDER);
      expect(revealedText).toContain(GONE);
      for (const secret of Object.values(SECRETS)) expect(revealedText).not.toContain(secret);
    });
  });

  describe('metrics', () => {
    it(`emits EMF documents in the ${METRICS_NAMESPACE} namespace with the service dimension`, () => {
      expect(emf().length).toBeGreaterThan(3);
      for (const doc of emf()) {
        const { namespace, dimensions } = metricsIn(doc);
        expect(namespace).toBe(METRICS_NAMESPACE);
        expect(dimensions[0]).toContain('service');
        expect(doc.service).toBe('ses-bouncer');
      }
    });

    it('emits every metric an operator alarms on or charts', () => {
      const names = new Set(emf().flatMap((d) => metricsIn(d).names));
      for (const name of [
        MetricName.MessagesReceived,
        MetricName.RecipientsBounced,
        MetricName.BouncesQueued,
        MetricName.BouncesSent,
        MetricName.BouncesSkipped,
        MetricName.BouncesExpired,
        MetricName.BouncesFailed,
        MetricName.SesThrottled,
        MetricName.InvalidRules,
        MetricName.MailReadFailed,
        MetricName.QueueAgeAtSendMs,
      ]) {
        expect([...names]).toContain(name);
      }
    });

    it('counts skipped bounces with a reason dimension per guard reason, and a body the parser refused apart', () => {
      const skipped = emf().filter((d) => metricsIn(d).names.includes(MetricName.BouncesSkipped));
      for (const doc of skipped) expect(metricsIn(doc).dimensions.flat()).toContain('reason');
      expect(skipped.map((d) => d.reason).sort()).toEqual(['auto-submitted']);
      expect(emf().filter((d) => metricsIn(d).names.includes(MetricName.MailUnparsed))).toHaveLength(1);
    });

    it('counts values that match what happened', () => {
      const sum = (name: string) =>
        emf()
          .filter((d) => metricsIn(d).names.includes(name))
          .reduce((s, d) => s + [d[name]].flat().reduce((a: number, v) => a + Number(v), 0), 0);
      // Received: bounced, auto-reply, malformed, missing, throttled, rejected.
      expect(sum(MetricName.MessagesReceived)).toBe(6);
      expect(sum(MetricName.BouncesSent)).toBe(2);
      expect(sum(MetricName.SesThrottled)).toBe(1);
      expect(sum(MetricName.BouncesFailed)).toBe(1);
      expect(sum(MetricName.BouncesExpired)).toBe(1);
      expect(sum(MetricName.MailReadFailed)).toBe(1);
      expect(sum(MetricName.InvalidRules)).toBe(1);
    });
  });
});
