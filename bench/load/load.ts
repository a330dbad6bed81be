/**
 * Reliability suite 6: load through local mode (RELIABILITY.md).
 *
 *     npm run reliability:load [-- --messages 2000 --bounce-every 10 --out .local/load-result.json]
 *
 * Starts local mode (`local/start.ts`) as a child process with a data
 * directory, sends N messages over SMTP with nodemailer (every
 * `bounce-every`-th one to an address a rule bounces, the rest to addresses no
 * rule covers, each from its own sender so the sender budget stays out of the
 * way), then waits until every bounce has been sent and checks:
 *
 * - every message got a receive decision (local mode's `receive` line);
 * - the state table holds an audit item for each bounced message, SENT, and
 *   none for an allowed one; the outbox holds one DSN per bounce;
 * - accepted SendBounce calls were at least 1,000 ms apart (call times decoded
 *   from the SES stand-in's message ids, which carry the arrival time); calls
 *   answered Throttling (which the pipeline retries) are counted and reported;
 * - memory: RSS of the local-mode process (and of DynamoDB Local) sampled
 *   every 2 s, reported as start / peak / end.
 *
 * Exits 1 when a check fails. Takes about (N / bounce-every) seconds plus the
 * SMTP phase: 2,000 messages at 10 % take about 4 minutes. Not part of `npm test`.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import nodemailer from 'nodemailer';
import { freePort } from '../../local/dynamodb/dynamodb-local';
import { fail, reportChecks, runScript, sleep, until } from './script';

const ROOT = resolve(__dirname, '../..');
const DOMAIN = 'load.example';
const BOUNCED = `gone@${DOMAIN}`;
/** SendBounce's one-call-per-second limit. */
const MIN_GAP_MS = 1000;

interface Sample {
  readonly atMs: number;
  readonly phase: 'idle' | 'smtp' | 'draining' | 'done';
  readonly rssMb: number;
  readonly dynamoRssMb?: number;
}

function rssMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb === undefined ? undefined : Math.round(Number(kb) / 102.4) / 10;
  } catch {
    return undefined;
  }
}

/** Arrival time the SES stand-in encodes in its message ids (`0100<12 hex ms>-…`). */
function standInCallTime(sesMessageId: string): number | undefined {
  const m = /^0100([0-9a-f]{12})-/.exec(sesMessageId);
  return m ? parseInt(m[1], 16) : undefined;
}

function stats(values: number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0] ?? NaN, median: sorted[Math.floor(sorted.length / 2)] ?? NaN, max: sorted[sorted.length - 1] ?? NaN };
}

async function main(): Promise<void> {
  // Local tooling on the developer's Node; the SDK's upgrade notice is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const { values: flags } = parseArgs({
    options: {
      messages: { type: 'string', default: '2000' },
      'bounce-every': { type: 'string', default: '10' },
      connections: { type: 'string', default: '4' },
      out: { type: 'string', default: '.local/load-result.json' },
    },
  });
  const total = Number(flags.messages);
  const every = Number(flags['bounce-every']);
  const connections = Number(flags.connections);
  if (!Number.isInteger(total) || total < 1 || !Number.isInteger(every) || every < 1) throw new Error('--messages and --bounce-every must be whole numbers');
  const expectedBounces = Math.floor(total / every);

  const work = mkdtempSync(join(tmpdir(), 'ses-bouncer-load-'));
  const dataDir = join(work, 'data');
  const outbox = join(work, 'outbox');
  const rulesFile = join(work, 'rules.json');
  writeFileSync(
    rulesFile,
    JSON.stringify([{ ruleId: 'load-gone', recipients: [BOUNCED], action: 'bounce', bounceType: 'DoesNotExist', explanation: 'load test' }]),
  );
  const smtpPort = await freePort();

  // Plain node with tsx's loader: one process, whose RSS is local mode's own.
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--import', 'tsx', 'local/start.ts', '--smtp-port', String(smtpPort), '--domains', DOMAIN, '--data-dir', dataDir, '--outbox', outbox, '--rules', rulesFile, '--cache-seconds', '60'],
    { cwd: ROOT, env: { ...process.env, SES_BOUNCER_SMTP_PORT: '' } },
  );
  let output = '';
  let exitCode: number | null | undefined;
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  child.on('exit', (code) => (exitCode = code));

  const samples: Sample[] = [];
  let phase: Sample['phase'] = 'idle';
  let dynamoPid: number | undefined;
  const t0 = Date.now();
  const sampler = setInterval(() => {
    const rss = rssMb(child.pid!);
    if (rss !== undefined) samples.push({ atMs: Date.now() - t0, phase, rssMb: rss, dynamoRssMb: dynamoPid ? rssMb(dynamoPid) : undefined });
  }, 2000);

  const failures: string[] = [];
  try {
    await until('local mode to be ready', () => (/^ready: /m.test(output) ? true : exitCode !== undefined ? fail(`local mode exited:\n${output}`) : undefined), 90_000);
    const banner = /DynamoDB\s+(http:\/\/127\.0\.0\.1:\d+)\s+\(DynamoDB Local, pid (\d+)/.exec(output);
    const tables = /tables\s+rules: (\S+)\s+state: (\S+)/.exec(output);
    if (!banner || !tables) throw new Error(`unexpected banner:\n${output}`);
    dynamoPid = Number(banner[2]);
    const db = new DynamoDBClient({ endpoint: banner[1], region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const stateTable = tables[2];
    await sleep(4000); // a few idle samples as the baseline

    // --- SMTP phase -----------------------------------------------------------------
    phase = 'smtp';
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true, pool: true, maxConnections: connections, maxMessages: Infinity });
    const bounceIds = new Set<string>();
    const allowIds = new Set<string>();
    const smtpStarted = Date.now();
    let next = 0;
    const sendOne = async (i: number) => {
      const bounce = i % every === every - 1;
      const info = await transport.sendMail({
        from: `sender${i}@s${i % 200}.sender.example`,
        to: bounce ? BOUNCED : `user${i}@${DOMAIN}`,
        subject: `load ${i}`,
        text: `load message ${i}\n`.repeat(20),
      });
      const id = /Ok (\S+)$/.exec(info.response)?.[1];
      if (!id) throw new Error(`no message id in ${JSON.stringify(info.response)}`);
      (bounce ? bounceIds : allowIds).add(id);
    };
    await Promise.all(
      Array.from({ length: connections * 2 }, async () => {
        while (next < total) await sendOne(next++);
      }),
    );
    transport.close();
    const smtpMs = Date.now() - smtpStarted;

    // --- every decision recorded --------------------------------------------------------
    const RECEIVE_LINE = / receive (\S+?)…? \S+ -> (\S+) decision=(\S+) rule=(\S+)/;
    const receiveLines = () => output.split('\n').filter((l) => RECEIVE_LINE.test(l));
    await until(`${total} receive decisions`, () => (receiveLines().length >= total ? true : undefined), 120_000, 500);
    const decidedMs = Date.now() - smtpStarted;
    phase = 'draining';
    const lines = receiveLines();
    // Local mode prints the first 12 characters of the id.
    const byShort = new Map<string, { decision: string; rule: string }>();
    for (const line of lines) {
      const m = RECEIVE_LINE.exec(line)!;
      byShort.set(m[1], { decision: m[3], rule: m[4] });
    }
    const decisionOf = (id: string) => byShort.get(id.slice(0, 12));
    const wrongBounce = [...bounceIds].filter((id) => decisionOf(id)?.decision !== 'bounce' || decisionOf(id)?.rule !== 'load-gone');
    const wrongAllow = [...allowIds].filter((id) => decisionOf(id)?.decision !== 'deliver');
    if (bounceIds.size !== expectedBounces) failures.push(`sent ${bounceIds.size} bounce messages, expected ${expectedBounces}`);
    if (wrongBounce.length) failures.push(`${wrongBounce.length} bounce messages without a bounce decision, e.g. ${wrongBounce[0]}`);
    if (wrongAllow.length) failures.push(`${wrongAllow.length} allowed messages without a deliver decision, e.g. ${wrongAllow[0]}`);

    // --- bounces sent, paced ----------------------------------------------------------------
    const scanAudit = async () => {
      const items: Record<string, unknown>[] = [];
      let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
      do {
        const page = await db.send(new ScanCommand({ TableName: stateTable, ExclusiveStartKey: start }));
        items.push(...(page.Items ?? []).map((i) => unmarshall(i)));
        start = page.LastEvaluatedKey;
      } while (start);
      return items.filter((i) => String(i.pk).startsWith('msg#'));
    };
    const audit = await until(
      `${expectedBounces} SENT audit items`,
      async () => {
        const items = await scanAudit();
        const settled = items.filter((i) => ['SENT', 'FAILED', 'EXPIRED', 'UNKNOWN', 'SKIPPED'].includes(String(i.state)));
        return settled.length >= bounceIds.size ? items : undefined;
      },
      Math.max(600_000, expectedBounces * 3000),
      5000,
    );
    const drainedMs = Date.now() - smtpStarted;
    phase = 'done';
    await sleep(4000); // samples after the drain

    const auditIds = new Set(audit.map((i) => String(i.messageId)));
    const notSent = audit.filter((i) => i.state !== 'SENT');
    const missingAudit = [...bounceIds].filter((id) => !auditIds.has(id));
    const auditForAllowed = [...allowIds].filter((id) => auditIds.has(id));
    const throttled = audit.filter((i) => /Throttling|rate exceeded/i.test(String(i.lastError ?? '')));
    if (missingAudit.length) failures.push(`${missingAudit.length} bounced messages without an audit item`);
    if (auditForAllowed.length) failures.push(`${auditForAllowed.length} allowed messages with an audit item`);
    if (notSent.length) failures.push(`${notSent.length} audit items not SENT: ${[...new Set(notSent.map((i) => i.state))].join(', ')}`);
    // Not a failure: the gate's 20 ms of slack covers the jitter between a slot's start and the
    // request reaching SES; on a loaded machine a call can exceed it, SES (the stand-in) answers
    // Throttling, and the pipeline retries on a later slot. Reported so that the pace can be judged.
    const throttledErrors = throttled.map((i) => String(i.lastError));
    const dsns = readdirSync(outbox).filter((f) => f.endsWith('.eml')).length;
    if (dsns !== bounceIds.size) failures.push(`${dsns} DSN files in the outbox, expected ${bounceIds.size}`);

    const callTimes = audit.map((i) => standInCallTime(String(i.sesBounceMessageId ?? ''))).filter((t): t is number => t !== undefined).sort((a, b) => a - b);
    const gaps = callTimes.slice(1).map((t, i) => t - callTimes[i]);
    const gap = stats(gaps);
    if (gaps.length && gap.min < MIN_GAP_MS) failures.push(`SendBounce calls ${gap.min} ms apart (minimum ${MIN_GAP_MS})`);

    // --- memory -------------------------------------------------------------------------------
    const of = (p: Sample['phase'][]) => samples.filter((s) => p.includes(s.phase)).map((s) => s.rssMb);
    const idle = of(['idle']);
    const drain = of(['draining']);
    const memory = {
      samples: samples.length,
      startMb: idle[idle.length - 1] ?? samples[0]?.rssMb,
      peakMb: Math.max(...samples.map((s) => s.rssMb)),
      endMb: samples[samples.length - 1]?.rssMb,
      drainFirstMb: drain[0],
      drainLastMb: drain[drain.length - 1],
      dynamoLocalStartMb: samples.find((s) => s.dynamoRssMb !== undefined)?.dynamoRssMb,
      dynamoLocalPeakMb: Math.max(...samples.map((s) => s.dynamoRssMb ?? 0)),
    };

    const result = {
      when: new Date(t0).toISOString(),
      node: process.version,
      messages: total,
      bounces: bounceIds.size,
      allowed: allowIds.size,
      smtpSeconds: Math.round(smtpMs / 100) / 10,
      smtpMessagesPerSecond: Math.round((total / smtpMs) * 10_000) / 10,
      allDecidedSeconds: Math.round(decidedMs / 100) / 10,
      allBouncesSentSeconds: Math.round(drainedMs / 100) / 10,
      receiveDecisions: lines.length,
      auditItems: audit.length,
      auditItemsForAllowed: auditForAllowed.length,
      sent: audit.filter((i) => i.state === 'SENT').length,
      dsnFiles: dsns,
      throttled: throttled.length,
      throttledErrors,
      sendBounceGapMs: gap,
      memory,
      rssSeries: samples.map((s) => [Math.round(s.atMs / 1000), s.phase, s.rssMb]),
      failures,
    };
    const outFile = resolve(ROOT, flags.out!);
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile, `${JSON.stringify(result, null, 1)}\n`);
    const { rssSeries: _series, ...summary } = result;
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\nfull result: ${outFile}\n`);
    db.destroy();
  } finally {
    clearInterval(sampler);
    if (exitCode === undefined) {
      child.kill('SIGTERM');
      await until('local mode to stop', () => exitCode, 30_000).catch(() => child.kill('SIGKILL'));
    }
    rmSync(work, { recursive: true, force: true });
  }
  reportChecks('load', failures);
}

runScript('load', main);
