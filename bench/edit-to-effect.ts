/**
 * Figure 3c — edit to effect in local mode (issue 13). Local mode runs as
 * `npm start` does (its default 2 s rules cache, the stream poller's 250 ms
 * window, the compile step's own handler, receive on the snapshot rule
 * source). Each of the 20 edits puts a new rule allowing one address that no
 * rule covered, with PutItem as a user would; from that moment a probe
 * message to the address enters the pipeline every 50 ms (the way the SMTP
 * receiver hands mail over). Measured per edit: put → the compile that
 * includes it (the compile line local mode prints), and put → the first
 * decision that names the new rule. Edits are spaced by varying pauses so
 * they land at every phase of the receive side's cache period.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { logger } from '../lambda/commons/logger';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/dynamodb/dynamodb-local';
import { startLocalMode } from '../local/local-mode';
import { S3RVER_CREDENTIALS } from '../local/s3/local-s3';
import type { Benchmark } from './lib/result';
import { fmt, summarize } from './lib/stats';

const PROBE_EVERY_MS = 50;
const CACHE_SECONDS = 2;
const WINDOW_MS = 250;

/** One edit's timings, ms from the start of its PutItem. */
interface EditTiming {
  readonly compiledMs: number;
  readonly decidedMs: number;
}

export const editToEffect: Benchmark = async ({ quick, workDir, log }) => {
  const edits = quick ? 5 : 20;
  const dir = mkdtempSync(join(workDir, 'edit-to-effect-'));
  const mailFile = join(dir, 'probe.eml');
  const message = Buffer.from('From: someone@sender.example\r\nTo: probe@example.com\r\nSubject: probe\r\n\r\nprobe\r\n');
  writeFileSync(mailFile, message);

  // s3rver checks signatures with its own keys; DynamoDB Local takes any (local/start.ts does the same).
  const savedEnv = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  // As npm start runs it: the functions' INFO lines would drown the progress (local/start.ts sets WARN too).
  const savedLevel = logger.getLevelName();
  logger.setLogLevel('WARN');

  const decided = new Map<string, { at: number; ruleIds: string[] }>();
  let compiles: number[] = [];
  const mode = await startLocalMode({
    smtpPort: 0,
    domains: ['example.com'],
    outboxDir: join(dir, 'outbox'),
    rulesPath: join(__dirname, '..', 'local', 'seed-rules.json'),
    cacheSeconds: CACHE_SECONDS,
    compileWindowMs: WINDOW_MS,
    print: (line) => {
      if (line.includes('rules   compiled after')) compiles.push(Date.now());
    },
    onDecided: ({ messageId, decisions }) => decided.set(messageId, { at: Date.now(), ruleIds: decisions.flatMap((d) => (d.action === 'default' ? [] : [d.ruleId])) }),
  });
  const db = new DynamoDBClient({ endpoint: mode.dynamodb.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const timings: EditTiming[] = [];
  try {
    log(`edit to effect: ${edits} edits, probes every ${PROBE_EVERY_MS} ms, cache ${CACHE_SECONDS} s, window ${WINDOW_MS} ms`);
    for (let i = 0; i < edits; i++) {
      // Pauses from 0 to 1.9 s in a fixed scattered order: each edit meets the cache at another phase.
      await new Promise((r) => setTimeout(r, ((i * 7) % 20) * 100));
      const ruleId = `bench-edit-${i}`;
      const address = `probe-${i}@example.com`;
      compiles = [];
      const t0 = Date.now();
      await db.send(
        new PutItemCommand({
          TableName: mode.tables.rules,
          Item: { ruleId: { S: ruleId }, priority: { N: '1' }, recipients: { L: [{ S: address }] }, action: { S: 'allow' } },
        }),
      );
      let effectAt: number | undefined;
      const deadline = t0 + 30_000;
      while (effectAt === undefined) {
        if (Date.now() > deadline) throw new Error(`edit ${ruleId} had no effect within 30 s`);
        const { messageId } = await mode.receive({
          file: mailFile,
          size: message.length,
          head: message,
          envelope: { mailFrom: 'someone@sender.example', rcptTo: [address] },
          receivedAt: new Date(),
          client: { helo: 'bench.example', address: '127.0.0.1' },
        });
        const sentAt = Date.now();
        // The decision of this probe (receive runs one message at a time).
        while (!decided.has(messageId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        const d = decided.get(messageId);
        decided.delete(messageId);
        if (d?.ruleIds.includes(ruleId)) effectAt = d.at;
        else await new Promise((r) => setTimeout(r, Math.max(0, PROBE_EVERY_MS - (Date.now() - sentAt))));
      }
      const compiledAt = compiles[0];
      if (compiledAt === undefined) throw new Error(`edit ${ruleId} took effect without a compile line`);
      timings.push({ compiledMs: compiledAt - t0, decidedMs: effectAt - t0 });
      log(`edit ${i + 1}/${edits}: compiled after ${compiledAt - t0} ms, first decision using it after ${effectAt - t0} ms`);
    }
  } finally {
    db.destroy();
    await mode.stop();
    process.env.AWS_ACCESS_KEY_ID = savedEnv.id;
    process.env.AWS_SECRET_ACCESS_KEY = savedEnv.secret;
    logger.setLogLevel(savedLevel);
  }

  const decidedS = summarize(timings.map((t) => t.decidedMs));
  const compiledS = summarize(timings.map((t) => t.compiledMs));
  const afterCompile = summarize(timings.map((t) => t.decidedMs - t.compiledMs));
  const cacheMs = CACHE_SECONDS * 1000;
  return {
    id: 'edit-to-effect',
    title: 'Edit to effect (local mode)',
    rows: [
      { measure: `put-item → first decision using the rule, p50 (${edits} edits)`, value: `${fmt(decidedS.median)} ms` },
      { measure: 'put-item → first decision using the rule, max', value: `${fmt(decidedS.max)} ms` },
      { measure: 'put-item → compile published (stream, window, compile), p50 / max', value: `${fmt(compiledS.median)} / ${fmt(compiledS.max)} ms` },
      {
        measure: 'compile → first decision using it, max',
        value: `${fmt(afterCompile.max)} ms`,
        target: `within the cache period after the compile (${cacheMs} ms, + ${PROBE_EVERY_MS} ms probe spacing)`,
        met: afterCompile.max <= cacheMs + PROBE_EVERY_MS,
      },
    ],
    notes: [
      `local mode as npm start runs it: rules cache ${CACHE_SECONDS} s, stream window ${WINDOW_MS} ms (the stack's is 15 s), seed rules plus one new rule per edit`,
      `a probe message every ${PROBE_EVERY_MS} ms from the put on; the effect time is when the first probe's decision named the new rule`,
      'edits spaced by 0–1.9 s pauses, so they meet the cache at every phase',
    ],
    data: { edits: timings, cacheMs, windowMs: WINDOW_MS, probeEveryMs: PROBE_EVERY_MS },
  };
};
