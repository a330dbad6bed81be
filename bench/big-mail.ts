/**
 * Figure 4 — big mail in the local object store (s3rver).
 * (a) Header-only rules with truncated event headers: the receive use case
 *     reads the header block with a ranged GET; bytes counted at the SDK
 *     edge, beside the object's size.
 * (b) An attachment-type rule: the receive use case streams the body through
 *     the MIME parser; time and peak RSS in a fresh process, beside
 *     mailparser.simpleParser reading the same object in its own process.
 */
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { receiveMessage } from '../lambda/app/receive-message';
import { MemoryRuleSource } from '../lambda/adapters/memory/rule-source';
import { S3MailStore } from '../lambda/adapters/s3/mail-store';
import { parseSesEvent } from '../lambda/domain/event/ses-event';
import { bundleChild, runNodeChild } from './lib/child';
import { sesEvent } from './lib/fixtures';
import { startBenchS3 } from './lib/local-services';
import { buildBigMessage } from './lib/mail';
import { memoryReceiveDeps } from './lib/receive-deps';
import type { Benchmark, ResultRow } from './lib/result';
import { countS3Bytes } from './lib/sdk-edge';
import { fmt, fmtBytes, fmtSummary, summarize } from './lib/stats';

/** The bound on bytes read for header-only rules. */
const HEADER_READ_TARGET_BYTES = 64 * 1024;
const RECIPIENT = 'orders@shop.example';

interface ChildResult {
  readonly ms: number;
  readonly found: number;
  readonly rssBeforeBytes: number;
  readonly peakRssBytes: number;
}

export const bigMail: Benchmark = async ({ quick, workDir, log }) => {
  const sizesMb = [1, 10, 40];
  const headerReps = quick ? 3 : 10;
  const s3 = await startBenchS3();
  const rows: ResultRow[] = [];
  const data: Record<string, unknown>[] = [];
  try {
    const child = await bundleChild(join(__dirname, 'children', 'big-mail-child.ts'), join(workDir, 'big-mail-child.js'));
    const putClient = s3.client();
    const readClient = s3.client();
    const counter = countS3Bytes(readClient);
    for (const mb of sizesMb) {
      const messageId = `bench-big-${mb}mb`;
      const raw = buildBigMessage({ sizeBytes: mb * 1_000_000, attachments: 3, subject: 'You won the lottery', to: RECIPIENT });
      await putClient.send(new PutObjectCommand({ Bucket: s3.bucket, Key: messageId, Body: raw }));
      const childReps = quick ? 2 : mb >= 40 ? 3 : 5;
      log(`big mail: ${fmtBytes(raw.length)} stored; header-only ×${headerReps}, attachment rule ×${childReps} per parser`);

      // (a) header-only rule on truncated event headers.
      const rules = new MemoryRuleSource([
        { ruleId: 'lottery', recipients: [RECIPIENT], subject: ['*lottery*'], action: 'bounce', bounceType: 'ContentRejected' },
      ]);
      const record = parseSesEvent(sesEvent({ messageId, recipients: [RECIPIENT], truncated: true })).Records[0];
      const headerMs: number[] = [];
      const headerBytes: number[] = [];
      for (let r = 0; r < headerReps; r++) {
        const deps = memoryReceiveDeps(rules, new S3MailStore({ client: readClient, bucket: s3.bucket }));
        counter.reset();
        const t0 = process.hrtime.bigint();
        const result = await receiveMessage(deps, record);
        headerMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
        headerBytes.push(counter.bytes());
        if (result.outcome.kind !== 'queued') throw new Error(`header rule on ${mb} MB: expected a bounce, got ${result.outcome.kind}`);
      }
      const hb = Math.max(...headerBytes);
      const ht = summarize(headerMs);
      rows.push({
        measure: `${mb} MB, header-only rule: bytes read from the store, time`,
        value: `${fmtBytes(hb)} (${hb.toLocaleString('en-US')} B), ${fmtSummary(ht, 'ms')}`,
        baseline: `object ${fmtBytes(raw.length)}`,
        target: `≤ 64 KiB (${HEADER_READ_TARGET_BYTES.toLocaleString('en-US')} B)`,
        met: hb <= HEADER_READ_TARGET_BYTES,
      });

      // (b) attachment-type rule vs simpleParser, each in fresh processes, interleaved.
      const runs: Record<'bouncer' | 'simpleParser', ChildResult[]> = { bouncer: [], simpleParser: [] };
      for (let r = 0; r < childReps; r++) {
        for (const mode of ['bouncer', 'simpleParser'] as const) {
          const { result } = await runNodeChild<ChildResult>(child, { mode, endpoint: s3.endpoint, bucket: s3.bucket, messageId, recipient: RECIPIENT });
          runs[mode].push(result);
        }
      }
      const t = (mode: 'bouncer' | 'simpleParser') => summarize(runs[mode].map((x) => x.ms));
      const peak = (mode: 'bouncer' | 'simpleParser') => summarize(runs[mode].map((x) => x.peakRssBytes));
      const before = (mode: 'bouncer' | 'simpleParser') => summarize(runs[mode].map((x) => x.rssBeforeBytes));
      const [tb, ts, pb, ps] = [t('bouncer'), t('simpleParser'), peak('bouncer'), peak('simpleParser')];
      rows.push(
        {
          measure: `${mb} MB, attachment-type rule: time (receive use case, streaming scan)`,
          value: `${fmtSummary(tb, 'ms')} = ${fmt(tb.median / ts.median)}× simpleParser`,
          baseline: `simpleParser ${fmtSummary(ts, 'ms')}`,
          target: 'no slower',
          met: tb.median <= ts.median,
        },
        {
          measure: `${mb} MB, attachment-type rule: peak RSS of the process`,
          value: `${fmtBytes(pb.median)} = ${fmt(pb.median / ps.median)}× simpleParser`,
          baseline: `simpleParser ${fmtBytes(ps.median)}`,
          target: '≤ 0.5× simpleParser',
          met: pb.median <= ps.median / 2,
        },
        {
          measure: `${mb} MB, attachment-type rule: peak RSS above the process's start`,
          value: `${fmtBytes(pb.median - before('bouncer').median)} = ${fmt((pb.median - before('bouncer').median) / (ps.median - before('simpleParser').median))}× simpleParser`,
          baseline: `simpleParser ${fmtBytes(ps.median - before('simpleParser').median)}`,
          target: '≤ 0.5× simpleParser',
          met: pb.median - before('bouncer').median <= (ps.median - before('simpleParser').median) / 2,
        },
      );
      data.push({ sizeMb: mb, objectBytes: raw.length, headerOnly: { bytesRead: headerBytes, ms: ht }, attachmentRule: runs });
    }
  } finally {
    await s3.stop();
  }
  return {
    id: 'big-mail',
    title: '4. Big mail (s3rver)',
    rows,
    notes: [
      'Messages: multipart/mixed, a text part and 3 base64 attachments (pdf, jpeg, zip) of random bytes; sizes in decimal MB.',
      `(a) Event headers truncated (as SES does past 10 KB), rule on Subject: the use case must read the header block from the store. Bytes = response body bytes counted by middleware on the S3 client; time median [p10–p90] of ${headerReps}.`,
      '(b) One fresh process per run (5 per parser and size, 3 at 40 MB; interleaved), the same bundled child for both parsers (same code loaded), each reading the object through a GetObject stream. Peak RSS = process.resourceUsage().maxRSS, which includes node, the SDK and the loaded code; "above start" subtracts the RSS just before the timed work.',
    ],
    data,
  };
};
