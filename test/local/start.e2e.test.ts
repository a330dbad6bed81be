/**
 * End to end: `local/start.ts` as a child process, mail over SMTP with a real
 * client, the DSN file in the outbox, a rule edited while it runs, and a
 * clean stop. The child is started through the tsx binary rather than npx:
 * npx's shell does not pass SIGTERM on, and this test sends SIGTERM to the
 * process it started.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { simpleParser, type Attachment } from 'mailparser';
import nodemailer from 'nodemailer';
import { freePort } from '../../local/dynamodb/dynamodb-local';

const root = join(__dirname, '../..');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('local mode (npm start)', () => {
  jest.setTimeout(60_000);

  let child: ChildProcessWithoutNullStreams;
  let output = '';
  let smtpPort: number;
  let outbox: string;
  let dynamoEndpoint: string;
  let dynamoPid: number;
  let exitCode: number | null | undefined;

  const emls = () => readdirSync(outbox).filter((f) => f.endsWith('.eml'));
  const transport = () => nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true });
  /** Sends one message and returns the SES message id from the 250 reply. */
  const send = async (to: string, subject: string): Promise<string> => {
    const t = transport();
    try {
      const info = await t.sendMail({ from: 'someone@sender.example', to, subject, text: 'hello' });
      const id = /Ok (\S+)$/.exec(info.response)?.[1];
      if (!id) throw new Error(`no message id in ${JSON.stringify(info.response)}`);
      return id;
    } finally {
      t.close();
    }
  };
  const receiveLine = (messageId: string) =>
    until(`the receive line of ${messageId}`, () => output.split('\n').find((l) => l.includes(`receive ${messageId.slice(0, 12)}`)), 15_000);

  beforeAll(async () => {
    smtpPort = await freePort();
    outbox = mkdtempSync(join(tmpdir(), 'ses-bouncer-outbox-'));
    child = spawn(join(root, 'node_modules/.bin/tsx'), ['local/start.ts', '--smtp-port', String(smtpPort), '--outbox', outbox, '--cache-seconds', '1'], {
      cwd: root,
      env: { ...process.env, SES_BOUNCER_SMTP_PORT: '' },
    });
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => (exitCode = code));
    await until('the ready line', () => (/^ready: /m.test(output) ? true : exitCode !== undefined ? fail(output) : undefined), 40_000);
    const db = /DynamoDB\s+(http:\/\/127\.0\.0\.1:\d+)\s+\(DynamoDB Local, pid (\d+)/.exec(output);
    if (!db) throw new Error(`no DynamoDB line in:\n${output}`);
    dynamoEndpoint = db[1];
    dynamoPid = Number(db[2]);
  });

  afterAll(async () => {
    if (exitCode === undefined) child.kill('SIGKILL');
    if (dynamoPid && alive(dynamoPid)) process.kill(dynamoPid, 'SIGKILL');
  });

  function fail(text: string): never {
    throw new Error(`local mode exited before it was ready:\n${text}`);
  }

  it('prints the SMTP address, the DynamoDB endpoint, the table names, S3 and the outbox at start', () => {
    expect(output).toContain(`SMTP          127.0.0.1:${smtpPort}`);
    expect(output).toMatch(/tables\s+rules: ses-bouncer-rules\s+state: ses-bouncer-state/);
    expect(output).toMatch(/S3\s+http:\/\/127\.0\.0\.1:\d+\s+bucket ses-bouncer-local-mail.*rule snapshots in ses-bouncer-local-rules/);
    // Issue 13: the seeded rules are compiled once at start; receive reads that snapshot.
    expect(output).toMatch(/^\S+ rules {3}compiled at start: \d+ rules in use, 0 invalid skipped; snapshot \S+$/m);
    expect(output).toContain(`outbox        ${outbox}`);
    expect(output).toContain(`  export SES_BOUNCER_DDB=${dynamoEndpoint} SES_BOUNCER_RULES_TABLE=ses-bouncer-rules SES_BOUNCER_STATE_TABLE=ses-bouncer-state\n`);
    expect(output).toContain('aws dynamodb put-item --region us-east-1 --endpoint-url "$SES_BOUNCER_DDB" --table-name ses-bouncer-rules');
  });

  it('writes an RFC 3464 DSN to the outbox when mail for a bounced address arrives over SMTP', async () => {
    const messageId = await send('former@example.com', 'E2E quarterly numbers');
    const file = await until('a DSN in the outbox', () => emls()[0], 15_000);
    const raw = readFileSync(join(outbox, file));
    const dsn = await simpleParser(raw);

    const type = dsn.headers.get('content-type') as { value: string; params: Record<string, string> };
    expect(type.value).toBe('multipart/report');
    expect(type.params['report-type']).toBe('delivery-status');
    expect((dsn.to as { text: string }).text).toBe('someone@sender.example');

    // mailparser folds message/delivery-status into the text: split the report's parts by its boundary.
    const parts = raw
      .toString('utf8')
      .split(`--${type.params.boundary}`)
      .slice(1, -1)
      .map((p) => {
        const [head, ...body] = p.replace(/^\r?\n/, '').split(/\r?\n\r?\n/);
        return { type: /^Content-Type:\s*([^;\r\n]+)/im.exec(head)?.[1].trim().toLowerCase(), body: body.join('\n\n') };
      });
    expect(parts.map((p) => p.type)).toEqual(['text/plain', 'message/delivery-status', 'text/rfc822-headers']);
    const status = parts[1].body;
    expect(status).toMatch(/^Reporting-MTA: dns; \S+/m);
    expect(status).toMatch(/^Final-Recipient: rfc822; former@example\.com\r?$/m);
    expect(status).toMatch(/^Action: failed\r?$/m);
    expect(status).toMatch(/^Status: 5\.1\.1\r?$/m);
    const original = dsn.attachments.find((a: Attachment) => a.contentType === 'text/rfc822-headers')?.content.toString();
    expect(original).toMatch(/^Subject: E2E quarterly numbers\r?$/m);
    expect(dsn.text).toContain('This person no longer works here.');

    const line = await receiveLine(messageId);
    expect(line).toMatch(/-> former@example\.com decision=bounce rule=former-employee guard=ok state=PENDING/);
    await until('the send line', () => (output.includes(`send    ${messageId.slice(0, 12)}… state=SENT`) ? true : undefined), 10_000);
  });

  it('refuses a recipient outside the receiving domains with 550 5.1.1 at RCPT TO', async () => {
    const t = transport();
    const refused = await t.sendMail({ from: 'someone@sender.example', to: 'nobody@elsewhere.example', subject: 'x', text: 'x' }).then(
      () => undefined,
      (error: { responseCode?: number; response?: string }) => error,
    );
    t.close();
    expect(refused?.responseCode).toBe(550);
    expect(refused?.response).toBe('550 5.1.1 <nobody@elsewhere.example>: Recipient address rejected');
  });

  it('decides the next message by a rule added with the lines it printed, pasted into bash, the seeded rule kept', async () => {
    const before = emls().length;
    const printed = (prefix: RegExp) => {
      const line = output.split('\n').find((l) => prefix.test(l));
      if (!line) throw new Error(`no line matching ${prefix} in:\n${output}`);
      return line.trim().replace(/^or, without the AWS CLI: /, '');
    };
    // What a user pastes into a second terminal: the export line, then the CLI's put (the
    // AWS CLI line differs only in the tool and is checked in the start-up output above).
    const script = [printed(/^\s+export SES_BOUNCER_DDB=/), printed(/npx ses-bouncer rules put - /)].join('\n');
    const env = { ...process.env, PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH}`, AWS_PROFILE: '', AWS_ACCESS_KEY_ID: '', AWS_REGION: '' };
    const seen = output.length;
    const pasted = spawnSync('bash', ['-c', script], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
    expect(pasted.stderr).toBe('');
    expect(pasted.status).toBe(0);
    // Issue 13: the edit reaches the compile step through the table's stream...
    const compiled = await until('the compile of the edit', () => output.slice(seen).split('\n').find((l) => l.includes(' rules   compiled after')), 15_000);
    expect(compiled).toMatch(/^\S+ rules {3}compiled after 1 change: \d+ rules in use, 0 invalid skipped; snapshot \S+$/);
    // ...and receive reads the new pointer past the 1-second rules cache.
    await new Promise((r) => setTimeout(r, 1500));

    const messageId = await send('former@example.com', 'E2E after the edit');
    const line = await receiveLine(messageId);
    expect(line).toMatch(/-> former@example\.com decision=allow rule=allow-former guard=- state=-/);
    // Nothing was queued: give a sender the time it would have needed, then count again.
    await new Promise((r) => setTimeout(r, 1500));
    expect(emls()).toHaveLength(before);
    // The seeded rule still bounces the rest of its addresses.
    const other = await send('left-bob@example.com', 'E2E seeded rule kept');
    expect(await receiveLine(other)).toMatch(/decision=bounce rule=former-employee/);
  });

  it('defect 7: prints a decision line per recipient when the MIME parser refuses a message an attachment rule needs', async () => {
    const db = new DynamoDBClient({ endpoint: dynamoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    await db.send(
      new PutItemCommand({
        TableName: 'ses-bouncer-rules',
        Item: { ruleId: { S: 'scan-exe' }, recipients: { L: [{ S: 'scan@example.com' }] }, attachmentNames: { L: [{ S: '*.exe' }] }, action: { S: 'bounce' } },
      }),
    );
    db.destroy();
    await new Promise((r) => setTimeout(r, 1500));

    // 1,200 parts: more than the MIME parser accepts.
    const parts = Array.from({ length: 1200 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('');
    const raw = `From: someone@sender.example\r\nTo: scan@example.com, announce@example.com\r\nSubject: many parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${parts}--b--\r\n`;
    const t = transport();
    let messageId: string | undefined;
    try {
      const info = await t.sendMail({ envelope: { from: 'someone@sender.example', to: ['scan@example.com', 'announce@example.com'] }, raw });
      messageId = /Ok (\S+)$/.exec(info.response)?.[1];
    } finally {
      t.close();
    }
    if (!messageId) throw new Error('no message id');
    const id = messageId;
    const lines = await until('two receive lines', () => {
      const found = output.split('\n').filter((l) => l.includes(`receive ${id.slice(0, 12)}`));
      return found.length >= 2 ? found : undefined;
    }, 15_000);
    expect(lines.find((l) => l.includes('-> scan@example.com'))).toMatch(/decision=deliver rule=\(no rule\)/);
    expect(lines.find((l) => l.includes('-> announce@example.com'))).toMatch(/decision=bounce rule=closed-list/);
    // Let the bounce finish, so the next test stops an idle local mode.
    const sent = await until('the send line', () => output.split('\n').find((l) => l.includes(`send    ${id.slice(0, 12)}`)), 15_000);
    expect(sent).toContain('state=SENT');
  });

  it('stops every child process, DynamoDB Local included, on SIGTERM', async () => {
    expect(alive(dynamoPid)).toBe(true);
    child.kill('SIGTERM');
    await until('the exit of local mode', () => exitCode, 15_000);
    expect(exitCode).toBe(0);
    await until('DynamoDB Local to be gone', () => (alive(dynamoPid) ? undefined : true), 5_000);
    expect(output).toContain('stopped; nothing left running');
  });
});

describe('defect 15 (issue 12): local mode killed outright', () => {
  jest.setTimeout(60_000);

  it('leaves no DynamoDB Local behind when local mode itself is killed with SIGKILL', async () => {
    // Plain node with tsx's loader (not the tsx binary, which would be a second process): the pid killed is local mode's own.
    const parent = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', '--smtp-port', '0', '--outbox', mkdtempSync(join(tmpdir(), 'ses-bouncer-outbox-'))], {
      cwd: root,
      env: { ...process.env, SES_BOUNCER_SMTP_PORT: '' },
    });
    let text = '';
    let exited: number | null | undefined;
    parent.stdout.on('data', (d: Buffer) => (text += d.toString()));
    parent.stderr.on('data', (d: Buffer) => (text += d.toString()));
    parent.on('exit', (code) => (exited = code));
    let javaPid: number | undefined;
    try {
      await until('the ready line', () => (/^ready: /m.test(text) ? true : exited !== undefined ? fail(text) : undefined), 40_000);
      javaPid = Number(/DynamoDB Local, pid (\d+)/.exec(text)?.[1]);
      expect(alive(javaPid)).toBe(true);
      expect(readFileSync(`/proc/${javaPid}/cmdline`, 'utf8')).toContain('DynamoDBLocal.jar');
      parent.kill('SIGKILL');
      await until('DynamoDB Local to die with its parent', () => (alive(javaPid as number) ? undefined : true), 5_000);
    } finally {
      if (exited === undefined) parent.kill('SIGKILL');
      if (javaPid && alive(javaPid)) process.kill(javaPid, 'SIGKILL');
    }
  });

  function fail(text: string): never {
    throw new Error(`local mode exited before it was ready:\n${text}`);
  }
});
