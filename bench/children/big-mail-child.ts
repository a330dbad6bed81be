/**
 * Child process of the big-mail figure: reads one stored message from s3rver
 * either through the receive use case with an attachment-type rule (the
 * bouncer's streaming scan) or with mailparser's simpleParser, and reports
 * time, attachments found and peak RSS. One run per process, so the peak is
 * this run's alone.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { simpleParser } from 'mailparser';
import { receiveMessage } from '../../lambda/app/receive-message';
import { MemoryRuleSource } from '../../lambda/adapters/memory/rule-source';
import { S3MailStore } from '../../lambda/adapters/s3/mail-store';
import { parseSesEvent } from '../../lambda/domain/event/ses-event';
import { sesEvent } from '../lib/fixtures';
import { memoryReceiveDeps } from '../lib/receive-deps';

interface Input {
  readonly mode: 'bouncer' | 'simpleParser';
  readonly endpoint: string;
  readonly bucket: string;
  readonly messageId: string;
  readonly recipient: string;
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2]) as Input;
  const client = new S3Client({
    endpoint: input.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    forcePathStyle: true,
  });
  let run: () => Promise<number>;
  if (input.mode === 'bouncer') {
    const rules = new MemoryRuleSource([
      { ruleId: 'no-archives', recipients: [input.recipient], attachmentTypes: ['application/x-msdownload', 'application/zip'], action: 'bounce', bounceType: 'ContentRejected' },
    ]);
    const deps = memoryReceiveDeps(rules, new S3MailStore({ client, bucket: input.bucket }));
    const record = parseSesEvent(sesEvent({ messageId: input.messageId, recipients: [input.recipient] })).Records[0];
    await rules.current();
    run = async () => {
      const result = await receiveMessage(deps, record);
      if (result.outcome.kind !== 'queued') throw new Error(`expected the attachment rule to bounce, got ${result.outcome.kind}`);
      return deps.queue.jobs.length;
    };
  } else {
    run = async () => {
      const object = await client.send(new GetObjectCommand({ Bucket: input.bucket, Key: input.messageId }));
      const parsed = await simpleParser(object.Body as Readable);
      return parsed.attachments.length;
    };
  }
  const rssBeforeBytes = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  const found = await run();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  client.destroy();
  process.stdout.write(`${JSON.stringify({ ms, found, rssBeforeBytes, peakRssBytes })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
