import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { localDynamoDbClient, newRulesTable, runCli, tempFiles } from '../support';

const MESSAGE_ID = 'o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1-000000';

const plain = [
  'Return-Path: <someone@sender.example>',
  'From: Someone <someone@sender.example>',
  'To: former@example.com',
  'Subject: hello',
  'Message-ID: <1@sender.example>',
  'Date: Mon, 2 Feb 2026 10:00:00 +0000',
  '',
  'Hi there.',
  '',
].join('\r\n');

const withAttachment = [
  'From: someone@sender.example',
  'To: files@example.com',
  'Subject: installer',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain',
  '',
  'see attached',
  '--b1',
  'Content-Type: application/x-msdownload; name="setup.exe"',
  'Content-Disposition: attachment; filename="setup.exe"',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('MZ not really a program').toString('base64'),
  '--b1--',
  '',
].join('\r\n');

const extraRules = [
  {
    ruleId: 'no-executables',
    recipients: ['files@example.com'],
    attachmentTypes: ['application/x-msdownload'],
    action: 'bounce',
    bounceType: 'ContentRejected',
    diagnosticCode: '550 5.7.1 executables are not accepted',
  },
];

describe('cli/commands/test', () => {
  let files: Record<string, string>;
  let flags: string[];
  const client = localDynamoDbClient();

  beforeAll(async () => {
    const seed = JSON.parse(await readFile(join(__dirname, '../../../local/seed-rules.json'), 'utf8')) as unknown[];
    files = await tempFiles({
      'plain.eml': plain,
      'attachment.eml': withAttachment,
      'rules.json': JSON.stringify([...seed, ...extraRules]),
    });
    flags = ['--eml', files['plain.eml'], '--rules', files['rules.json'], '--message-id', MESSAGE_ID, '--json'];
  });
  afterAll(() => client.destroy());

  const json = async (argv: string[]) => {
    const r = await runCli(['test', ...argv]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout);
  };

  describe('test --json', () => {
    it('shows the deciding rule and the exact SendBounce request for a bounce', async () => {
      const before = Date.now();
      const out = await json([...flags, '--recipient', 'former@example.com']);
      expect(out.messageId).toBe(MESSAGE_ID);
      expect(out.sender).toBe('someone@sender.example');
      expect(out.budgetConsulted).toBe(false);
      expect(out.recipients).toEqual([
        {
          recipient: 'former@example.com',
          decision: 'bounce',
          ruleId: 'former-employee',
          bounce: {
            bounceType: 'DoesNotExist',
            status: '5.1.1',
            action: 'failed',
            diagnosticCode: 'smtp; 550 5.1.1 this mailbox no longer exists',
            explanation: 'This person no longer works here. Please contact info@example.com instead.',
          },
        },
      ]);
      expect(out.outcome).toBe('queued');
      expect(out.guard).toEqual({ allowed: true, reasons: [] });
      const { ArrivalDate, ...dsn } = out.sendBounceRequest.MessageDsn;
      expect(out.sendBounceRequest).toEqual({
        OriginalMessageId: MESSAGE_ID,
        BounceSender: 'mailer-daemon@example.com',
        Explanation: 'This person no longer works here. Please contact info@example.com instead.',
        MessageDsn: { ReportingMta: 'dns; inbound-smtp.example.com', ArrivalDate },
        BouncedRecipientInfoList: [
          {
            Recipient: 'former@example.com',
            RecipientDsnFields: {
              Action: 'failed',
              Status: '5.1.1',
              FinalRecipient: 'former@example.com',
              DiagnosticCode: 'smtp; 550 5.1.1 this mailbox no longer exists',
            },
          },
        ],
      });
      expect(dsn).toEqual({ ReportingMta: 'dns; inbound-smtp.example.com' });
      expect(Date.parse(ArrivalDate)).toBeGreaterThanOrEqual(before - 1000);
      expect(ArrivalDate).toBe(out.receivedAt);
    });

    it('uses --bounce-sender, --bounce-sender-arn and --reporting-mta in the request', async () => {
      const arn = 'arn:aws:ses:eu-west-1:123456789012:identity/example.com';
      const out = await json([
        ...flags,
        '--recipient', 'former@example.com',
        '--bounce-sender', 'bounces@mail.example.net',
        '--bounce-sender-arn', arn,
        '--reporting-mta', 'inbound.example.net',
      ]);
      expect(out.sendBounceRequest.BounceSender).toBe('bounces@mail.example.net');
      expect(out.sendBounceRequest.BounceSenderArn).toBe(arn);
      expect(out.sendBounceRequest.MessageDsn.ReportingMta).toBe('dns; inbound.example.net');
    });

    it('shows an allow decision and the default with no SendBounce request', async () => {
      const out = await json([...flags, '--recipient', 'postmaster@example.com', '--recipient', 'info@example.com']);
      expect(out.recipients).toEqual([
        { recipient: 'postmaster@example.com', decision: 'allow', ruleId: 'postmaster-always' },
        { recipient: 'info@example.com', decision: 'default', ruleId: null },
      ]);
      // As in the receive function: the guard runs only when a recipient is bounced.
      expect(out.outcome).toBe('no-bounce');
      expect(out.guard).toBeNull();
      expect(out.sendBounceRequest).toBeNull();
    });

    it('shows the guard skip and no request when SPF fails under the default policy', async () => {
      const out = await json([...flags, '--recipient', 'former@example.com', '--verdicts', 'spf=FAIL']);
      expect(out.verdicts.spf).toBe('FAIL');
      expect(out.recipients[0]).toMatchObject({ decision: 'bounce', ruleId: 'former-employee' });
      expect(out.outcome).toBe('skipped');
      expect(out.guard).toEqual({ allowed: false, reasons: ['sender-not-authenticated'] });
      expect(out.sendBounceRequest).toBeNull();
    });

    it('shows the guard skip for the null sender', async () => {
      const out = await json([...flags, '--recipient', 'former@example.com', '--sender', '<>']);
      expect(out.sender).toBe('');
      expect(out.guard).toEqual({ allowed: false, reasons: ['null-sender'] });
      expect(out.sendBounceRequest).toBeNull();
    });

    it('applies --policy: spf-or-dmarc-pass lets a DMARC pass through, none ignores SPF', async () => {
      const dmarc = await json([...flags, '--recipient', 'former@example.com', '--verdicts', 'spf=FAIL,dmarc=PASS', '--policy', 'spf-or-dmarc-pass']);
      expect(dmarc.guard).toEqual({ allowed: true, reasons: [] });
      expect(dmarc.sendBounceRequest).not.toBeNull();
      const none = await json([...flags, '--recipient', 'former@example.com', '--verdicts', 'spf=FAIL', '--policy', 'none']);
      expect(none.policy).toEqual({ senderAuth: 'none' });
      expect(none.sendBounceRequest.BouncedRecipientInfoList).toHaveLength(1);
    });

    it('reads attachments from the .eml when a rule needs them', async () => {
      const out = await json(['--eml', files['attachment.eml'], '--rules', files['rules.json'], '--recipient', 'files@example.com', '--json']);
      expect(out.sender).toBe('someone@sender.example');
      expect(out.attachments).toEqual([{ filename: 'setup.exe', contentType: 'application/x-msdownload', sizeBytes: 23 }]);
      expect(out.recipients[0]).toMatchObject({ decision: 'bounce', ruleId: 'no-executables' });
      expect(out.sendBounceRequest.BouncedRecipientInfoList[0].RecipientDsnFields).toEqual({
        Action: 'failed',
        Status: '5.7.1',
        FinalRecipient: 'files@example.com',
        DiagnosticCode: 'smtp; 550 5.7.1 executables are not accepted',
      });
    });

    it('evaluates the rules table when no --rules file is given, writing nothing', async () => {
      const table = await newRulesTable(client);
      expect((await runCli(['rules', 'import', files['rules.json'], ...table.flags])).code).toBe(0);
      const before = await client.send(new ScanCommand({ TableName: table.table }));
      const out = await json(['--eml', files['plain.eml'], '--recipient', 'former@example.com', '--recipient', 'left-bob@example.com', '--json', ...table.flags]);
      expect(out.recipients.map((p: { ruleId: string }) => p.ruleId)).toEqual(['former-employee', 'former-employee']);
      expect(out.sendBounceRequest.BouncedRecipientInfoList.map((i: { Recipient: string }) => i.Recipient)).toEqual(['former@example.com', 'left-bob@example.com']);
      const after = await client.send(new ScanCommand({ TableName: table.table }));
      expect(after.Items).toEqual(before.Items);
    });
  });

  describe('test (text)', () => {
    it('prints the decisions, the guard with the budget caveat and the request', async () => {
      const r = await runCli(['test', '--eml', files['plain.eml'], '--rules', files['rules.json'], '--recipient', 'former@example.com', '--recipient', 'info@example.com']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Dry run: nothing was written and nothing was sent.');
      expect(r.stdout).toContain("the state table's per-sender budget is not consulted in a dry run");
      expect(r.stdout).toMatch(/former@example\.com\s+bounce\s+former-employee\s+DoesNotExist 5\.1\.1 failed\s+bounce/);
      expect(r.stdout).toMatch(/info@example\.com\s+default\s+\(no rule matched\)\s+-\s+deliver/);
      expect(r.stdout).toContain('SendBounce request that would be sent:');
      expect(r.stdout).toContain('"ReportingMta": "dns; inbound-smtp.example.com"');
    });

    it('says why no request is made when the guard refuses', async () => {
      const r = await runCli(['test', '--eml', files['plain.eml'], '--rules', files['rules.json'], '--recipient', 'former@example.com', '--verdicts', 'spam=FAIL']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/former@example\.com\s+bounce\s+former-employee\s+.*no bounce \(guard\)/);
      expect(r.stdout).toContain('No SendBounce request: the guard refuses to bounce (spam-verdict).');
    });

    it('warns about invalid rules in the file and evaluates the others', async () => {
      const extra = await tempFiles({ 'rules.json': JSON.stringify([{ ruleId: 'broken', recipients: ['x@example.com'], action: 'nope' }, { ruleId: 'ok', recipients: ['former@example.com'], action: 'bounce' }]) });
      const r = await runCli(['test', '--eml', files['plain.eml'], '--rules', extra['rules.json'], '--recipient', 'former@example.com', '--json']);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^warning: invalid rule skipped: broken {2}action: /);
      expect(JSON.parse(r.stdout).recipients[0].ruleId).toBe('ok');
    });
  });

  describe('issue 15: shadow rules and drops', () => {
    const rules = [
      { ruleId: 'try-catch-all', recipients: ['example.com'], action: 'bounce', mode: 'shadow', priority: 1 },
      { ruleId: 'spam-trap', recipients: ['trap@example.com'], action: 'drop', priority: 5 },
      { ruleId: 'former-employee', recipients: ['former@example.com'], action: 'bounce', priority: 10 },
    ];
    let shadowFlags: string[];
    beforeAll(async () => {
      const extra = await tempFiles({ 'rules.json': JSON.stringify(rules) });
      shadowFlags = ['--eml', files['plain.eml'], '--rules', extra['rules.json'], '--message-id', MESSAGE_ID];
    });

    it('shows the shadow match next to the real decision, with the guard it would have met', async () => {
      const r = await runCli(['test', ...shadowFlags, '--recipient', 'info@example.com', '--recipient', 'trap@example.com']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/info@example\.com\s+default\s+\(no rule matched\)\s+-\s+deliver\s+shadow=try-catch-all would-bounce guard=ok/);
      expect(r.stdout).toMatch(/trap@example\.com\s+drop\s+spam-trap\s+-\s+drop \(no DSN\)\s+shadow=try-catch-all would-bounce guard=ok/);
      expect(r.stdout).toContain('No SendBounce request: no recipient is bounced (shadow matches are only recorded).');
    });

    it('gives the shadow matches, the shadow verdict and the DROPPED outcome as JSON', async () => {
      const out = await json([...shadowFlags, '--json', '--recipient', 'trap@example.com', '--verdicts', 'spf=FAIL']);
      expect(out.recipients).toEqual([
        { recipient: 'trap@example.com', decision: 'drop', ruleId: 'spam-trap', shadow: [{ ruleId: 'try-catch-all', action: 'bounce' }] },
      ]);
      expect(out.outcome).toBe('dropped');
      expect(out.disposition).toBe('STOP_RULE_SET');
      expect(out.guard).toBeNull();
      expect(out.shadowVerdict).toEqual({ guard: { allowed: false, reasons: ['sender-not-authenticated'] }, budget: 'not-checked' });
      expect(out.sendBounceRequest).toBeNull();
    });

    it('--shadow turns the real bounce into a stack-wide shadow match and sends nothing', async () => {
      const out = await json([...shadowFlags, '--json', '--shadow', '--recipient', 'former@example.com']);
      expect(out.recipients).toEqual([
        {
          recipient: 'former@example.com',
          decision: 'default',
          ruleId: null,
          shadow: [
            { ruleId: 'try-catch-all', action: 'bounce' },
            { ruleId: 'former-employee', action: 'bounce', stackWide: true },
          ],
        },
      ]);
      expect(out.outcome).toBe('shadow');
      expect(out.sendBounceRequest).toBeNull();
      const text = await runCli(['test', ...shadowFlags, '--shadow', '--recipient', 'former@example.com']);
      expect(text.stdout).toContain('shadow=try-catch-all would-bounce guard=ok, shadow=former-employee would-bounce stack-wide guard=ok');
    });
  });

  describe('test (errors)', () => {
    it.each([
      [['--recipient', 'a@example.com'], '--eml FILE is required'],
      [['--eml', 'x.eml'], 'at least one --recipient ADDR is required'],
      [['--eml', 'x.eml', '--recipient', 'a@example.com', '--policy', 'dkim'], '--policy must be one of spf-pass, spf-or-dmarc-pass, none (got "dkim")'],
      [['--eml', 'x.eml', '--recipient', 'a@example.com', '--verdicts', 'spf=MAYBE'], '--verdicts: unknown verdict status "MAYBE"'],
    ])('exits 2 for %j', async (argv, message) => {
      const r = await runCli(['test', ...argv, '--rules', files['rules.json']]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
    });

    it('exits 2 when neither --rules nor a table is given', async () => {
      const r = await runCli(['test', '--eml', files['plain.eml'], '--recipient', 'a@example.com']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('no rules: pass --rules FILE, or --table NAME');
    });

    it('exits 1 when the .eml cannot be read', async () => {
      const r = await runCli(['test', '--eml', '/nonexistent/x.eml', '--recipient', 'a@example.com', '--rules', files['rules.json']]);
      expect(r).toEqual({ code: 1, stdout: '', stderr: 'ses-bouncer: cannot read --eml "/nonexistent/x.eml": no such file\n' });
    });
  });
  describe('defect 12: untrusted text in the human-readable output', () => {
    it('escapes control characters in attachment names instead of sending them to the terminal', async () => {
      const evil = [
        'From: someone@sender.example',
        'To: files@example.com',
        'Subject: installer',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b1"',
        '',
        '--b1',
        "Content-Type: application/x-msdownload",
        "Content-Disposition: attachment; filename*=utf-8''clean%1B%5B2J%0D%0AAttachments%20none%E2%80%A8.exe",
        'Content-Transfer-Encoding: base64',
        '',
        Buffer.from('MZ').toString('base64'),
        '--b1--',
        '',
      ].join('\r\n');
      const f = await tempFiles({ 'evil.eml': evil });
      const r = await runCli(['test', '--eml', f['evil.eml'], '--rules', files['rules.json'], '--recipient', 'files@example.com']);
      expect(r.code).toBe(0);
      expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f\u2028\u2029]/);
      expect(r.stdout).toContain('clean\\x1b[2J\\x0d\\x0aAttachments none\\u2028.exe');
    });
  });
});
