import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Template } from 'aws-cdk-lib/assertions';
import { RULES_PARTITION_KEY } from '../../lambda/config/tables';
import { FUNCTIONS, PACKAGE_VERSION, functionAssetDir } from '../../lib/assets';
import { BUILD_INFO_DIR } from '../../scripts/build-functions';
import { createTable, dynamoDbEndpoint, localDynamoDbClient, uniqueTableName } from '../support/dynamodb';
import { sampleEvent } from '../support/pipeline-rig';
import { S3RVER_CREDENTIALS, startLocalS3, type LocalS3 } from '../support/s3';
import { buildStack, logicalId } from './template-support';

const CRLF = '\r\n';

/** A message with one PDF attachment. */
function messageWithPdf(): string {
  const b = 'bundling-test-boundary';
  return [
    'From: sender@example.com',
    'To: info@example.com',
    'Subject: invoice',
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${b}"`,
    '',
    `--${b}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    'see attached',
    `--${b}`,
    'Content-Type: application/pdf; name="invoice.pdf"',
    'Content-Disposition: attachment; filename="invoice.pdf"',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('%PDF-1.4 not really a pdf').toString('base64'),
    `--${b}--`,
    '',
  ].join(CRLF);
}

/**
 * The child: what Lambda does (require the handler file, call it), then
 * reports which files were loaded before and after the call. No NODE_PATH and
 * a cwd outside the repository, so only the asset's own files can resolve.
 */
const CHILD = `'use strict';
const { file, event } = JSON.parse(process.argv[2]);
const loaded = () => Object.keys(require.cache).filter((p) => p.includes('mailparser'));
const mod = require(file);
const atInit = loaded();
const logs = [];
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => { logs.push(String(chunk)); return true; };
mod.handler(event).then(
  (answer) => { process.stdout.write = write; write(JSON.stringify({ answer, atInit, afterCall: loaded(), logs }) + '\\n'); },
  (err) => { process.stdout.write = write; write(JSON.stringify({ error: String(err && err.stack || err), logs }) + '\\n'); process.exitCode = 1; },
);
`;

// The assets `npm run build` writes (npm test's pretest runs it) and the stack deploys.
describe('function assets (dist/functions)', () => {
  describe('as built', () => {
    it('has an index.js per function, each lazy package pre-bundled beside it, and no source map', () => {
      for (const [name, { lazy }] of Object.entries(FUNCTIONS)) {
        const dir = functionAssetDir(name as keyof typeof FUNCTIONS);
        expect(existsSync(join(dir, 'index.js'))).toBe(true);
        for (const pkg of lazy) expect(existsSync(join(dir, 'node_modules', pkg, 'index.js'))).toBe(true);
        // Maps stay in .build/: parsing one costs cold-start time (docs/deploy.md, "Source maps").
        expect(existsSync(join(dir, 'index.js.map'))).toBe(false);
        expect(readFileSync(join(dir, 'index.js'), 'utf8')).not.toContain('sourceMappingURL');
      }
    });

    it('carries the package.json version into the bundle, for the log lines', () => {
      expect(readFileSync(join(functionAssetDir('send'), 'index.js'), 'utf8')).toContain(JSON.stringify(PACKAGE_VERSION));
    });

    it('loads Powertools Tracer from beside index.js at init with TRACING=true, and never with tracing off', async () => {
      // Require the asset as Lambda does, let its init promise jobs run, then list the Tracer files loaded.
      const child = `'use strict';
const mod = require(process.argv[1]);
setImmediate(() => process.stdout.write(JSON.stringify({ handler: typeof mod.handler, tracer: Object.keys(require.cache).filter((p) => p.includes('aws-lambda-powertools/tracer')) }) + '\\n'));`;
      const env = {
        PATH: process.env.PATH ?? '',
        AWS_REGION: 'us-east-1',
        BOUNCE_SENDER: 'mailer-daemon@example.com',
        REPORTING_MTA: 'mx.example.com',
        RULES_TABLE: 'rules',
        STATE_TABLE: 'state',
        BOUNCE_QUEUE_URL: 'http://127.0.0.1:9/queue/bounces',
        MAIL_BUCKET: 'mail',
        // The compile function refuses to start without it; the stack sets it for receive and compile.
        RULES_SNAPSHOT_BUCKET: 'rules-snapshots',
      };
      const run = (file: string, tracing: string) =>
        new Promise<{ handler: string; tracer: string[] }>((resolve, reject) =>
          execFile(process.execPath, ['-e', child, file], { env: { ...env, TRACING: tracing } }, (err, stdout, stderr) =>
            err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout.trim().split('\n').pop()!)),
          ),
        );
      for (const name of Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[]) {
        const dir = functionAssetDir(name);
        expect(await run(join(dir, 'index.js'), 'false')).toEqual({ handler: 'function', tracer: [] });
        expect(await run(join(dir, 'index.js'), 'true')).toEqual({
          handler: 'function',
          tracer: [join(dir, 'node_modules', '@aws-lambda-powertools/tracer', 'index.js')],
        });
      }
    }, 60_000);

    describe('the synthesized receive asset', () => {
      let template: Template;
      let assetDir: string;
      let s3: LocalS3;
      let workDir: string;

      beforeAll(async () => {
        const built = buildStack();
        template = built.template;
        const fn = template.findResources('AWS::Lambda::Function')[logicalId(template, 'AWS::Lambda::Function', 'BouncerReceiveFunction')];
        const key = (fn.Properties.Code as { S3Key: string }).S3Key;
        assetDir = join(built.app.synth().directory, `asset.${key.replace(/\.zip$/, '')}`);
        s3 = await startLocalS3();
        workDir = mkdtempSync(join(tmpdir(), 'ses-bouncer-bundle-'));
      }, 120_000);

      afterAll(async () => {
        await s3?.stop();
        if (workDir) rmSync(workDir, { recursive: true, force: true });
      });

      it('ships mailparser pre-bundled in node_modules beside index.js', () => {
        expect(existsSync(join(assetDir, 'index.js'))).toBe(true);
        const lazy = join(assetDir, 'node_modules', 'mailparser', 'index.js');
        expect(existsSync(lazy)).toBe(true);
        // The main bundle does not carry mailparser's code, only the deferred require of it.
        const main = readFileSync(join(assetDir, 'index.js'), 'utf8');
        expect(main).toContain('require("mailparser")');
        expect(main).not.toContain('class MailParser');
        expect(readFileSync(lazy, 'utf8').length).toBeGreaterThan(100_000);
      });

      it('bundles zod/mini only: no zod classic code, which would cost ~0.2x the SDK baseline at init', () => {
        const meta = JSON.parse(readFileSync(join(BUILD_INFO_DIR, 'receive', 'metafile.json'), 'utf8')) as { inputs: Record<string, unknown> };
        const zod = Object.keys(meta.inputs).filter((source) => source.includes('node_modules/zod/'));
        expect(zod.length).toBeGreaterThan(0);
        expect(zod.filter((source) => source.includes('/v4/classic/'))).toEqual([]);
      });

      it('loads mailparser from the asset only when an attachment rule needs it, and decides with it', async () => {
        const dynamodb = localDynamoDbClient();
        const rulesTable = uniqueTableName('bundle-rules');
        const stateTable = uniqueTableName('bundle-state');
        await createTable(dynamodb, rulesTable, RULES_PARTITION_KEY);
        await createTable(dynamodb, stateTable, 'pk');
        const rule = { ruleId: 'pdf-allowed', recipients: ['info@example.com'], attachmentTypes: ['application/pdf'], action: 'allow', priority: 5 };
        await dynamodb.send(new PutItemCommand({ TableName: rulesTable, Item: marshall(rule) }));
        const bucket = await s3.createBucket('bundle-mail');
        const event = sampleEvent();
        const messageId = 'bundling-test-message';
        event.Records[0].ses.mail.messageId = messageId;
        event.Records[0].ses.receipt.recipients = ['info@example.com'];
        await s3.client().send(new PutObjectCommand({ Bucket: bucket, Key: `mail/${messageId}`, Body: messageWithPdf() }));

        const child = join(workDir, 'child.js');
        writeFileSync(child, CHILD);
        const env = {
          PATH: process.env.PATH ?? '',
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
          BOUNCE_SENDER: 'mailer-daemon@example.com',
          REPORTING_MTA: 'mx.example.com',
          RULES_TABLE: rulesTable,
          STATE_TABLE: stateTable,
          BOUNCE_QUEUE_URL: 'http://127.0.0.1:9/queue/bounces',
          MAIL_BUCKET: bucket,
          MAIL_PREFIX: 'mail/',
          DYNAMODB_ENDPOINT: dynamoDbEndpoint(),
          S3_ENDPOINT: s3.endpoint,
          SQS_ENDPOINT: 'http://127.0.0.1:9',
          POWERTOOLS_SERVICE_NAME: 'ses-bouncer',
          POWERTOOLS_METRICS_NAMESPACE: 'SesBouncer',
        };
        const out = await new Promise<string>((resolve, reject) => {
          execFile(process.execPath, [child, JSON.stringify({ file: join(assetDir, 'index.js'), event })], { cwd: workDir, env }, (err, stdout, stderr) =>
            err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
          );
        });
        const result = JSON.parse(out.trim().split('\n').pop()!) as { answer: unknown; atInit: string[]; afterCall: string[]; logs: string[] };

        expect(result.atInit).toEqual([]);
        expect(result.afterCall).toEqual([join(assetDir, 'node_modules', 'mailparser', 'index.js')]);
        expect(result.answer).toEqual({ disposition: 'CONTINUE' });
        const decision = result.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.message === 'recipient decision');
        // The rule (numeric priority included) was valid and matched on the attachment's type.
        expect(decision).toMatchObject({ ruleId: 'pdf-allowed', action: 'allow', version: PACKAGE_VERSION });
      }, 60_000);
    });
  });
});
