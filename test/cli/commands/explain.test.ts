import { DynamoDbMessageLedger } from '../../../lambda/adapters/dynamodb/message-ledger';
import type { AuditRecord } from '../../../lambda/ports';
import { localDynamoDbClient, newStateTable, runCli } from '../support';

const record = (messageId: string, overrides: Partial<AuditRecord> = {}): AuditRecord => ({
  messageId,
  receivedAt: '2026-02-02T10:00:00.000Z',
  sender: 'someone@sender.example',
  decisions: [
    {
      recipient: 'former@example.com',
      action: 'bounce',
      ruleId: 'former-employee',
      bounce: { bounceType: 'DoesNotExist', status: '5.1.1', action: 'failed', diagnosticCode: 'smtp; 550 5.1.1 gone', explanation: 'Left the company.' },
    },
    { recipient: 'postmaster@example.com', action: 'allow', ruleId: 'postmaster-always' },
    { recipient: 'info@example.com', action: 'default', defaultAction: 'deliver' },
  ],
  guard: { allowed: true, reasons: [] },
  state: 'PENDING',
  attempts: 0,
  createdAt: '2026-02-02T10:00:01.000Z',
  updatedAt: '2026-02-02T10:00:01.000Z',
  expiresAt: 1772445601,
  ...overrides,
});

describe('cli/commands/explain', () => {
  const client = localDynamoDbClient();
  afterAll(() => client.destroy());

  describe('explain', () => {
    it('prints a sent message readably: state, sender, guard, attempts, SES id, timestamps and one row per recipient', async () => {
      const { table, flags } = await newStateTable(client);
      const ledger = new DynamoDbMessageLedger({ client, tableName: table, now: () => new Date('2026-02-02T10:00:03.000Z') });
      await ledger.claim(record('msg-sent'));
      expect(await ledger.transition('msg-sent', ['PENDING'], 'SENDING', { attempts: 1 })).toBe(true);
      expect(await ledger.transition('msg-sent', ['SENDING'], 'SENT', { sesBounceMessageId: '0100018d-bounce-id' })).toBe(true);

      const r = await runCli(['explain', 'msg-sent', ...flags]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      const lines = r.stdout.split('\n');
      expect(lines).toEqual(
        expect.arrayContaining([
          'Message     msg-sent',
          'State       SENT: SendBounce accepted the bounce',
          'Received    2026-02-02T10:00:00.000Z',
          'Sender      someone@sender.example',
          'Guard       allowed',
          'Attempts    1',
          'SES bounce  0100018d-bounce-id',
          'Created     2026-02-02T10:00:01.000Z',
          'Updated     2026-02-02T10:00:03.000Z',
          'Expires     2026-03-02T10:00:01.000Z (TTL)',
        ]),
      );
      const header = lines.find((l) => l.startsWith('RECIPIENT'));
      expect(header).toMatch(/^RECIPIENT\s+DECISION\s+RULE\s+BOUNCE TYPE\s+STATUS\s+ACTION\s+DIAGNOSTIC\s+EXPLANATION$/);
      expect(r.stdout).toMatch(/former@example\.com\s+bounce\s+former-employee\s+DoesNotExist\s+5\.1\.1\s+failed\s+smtp; 550 5\.1\.1 gone\s+Left the company\./);
      expect(r.stdout).toMatch(/postmaster@example\.com\s+allow\s+postmaster-always/);
      expect(r.stdout).toMatch(/info@example\.com\s+default \(deliver\)/);
    });

    it('shows the guard reasons of a skipped message, and the record as JSON with --json', async () => {
      const { table, flags } = await newStateTable(client);
      const ledger = new DynamoDbMessageLedger({ client, tableName: table });
      await ledger.claim(record('msg-skipped', { sender: '', state: 'SKIPPED', guard: { allowed: false, reasons: ['null-sender', 'sender-not-authenticated'] } }));
      const text = await runCli(['explain', 'msg-skipped', ...flags]);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain('State       SKIPPED: the guard refused to bounce; nothing was sent');
      expect(text.stdout).toContain('Sender      <> (null reverse-path)');
      expect(text.stdout).toContain('Guard       refused: null-sender, sender-not-authenticated');
      const json = await runCli(['explain', 'msg-skipped', '--json', ...flags]);
      expect(JSON.parse(json.stdout)).toEqual(await ledger.get('msg-skipped'));
      expect(JSON.parse(json.stdout).state).toBe('SKIPPED');
    });

    it('issue 15: shows a SHADOW record: the shadow verdict, and each shadow match next to the real decision', async () => {
      const { table, flags } = await newStateTable(client);
      const ledger = new DynamoDbMessageLedger({ client, tableName: table });
      await ledger.claim(
        record('msg-shadow', {
          state: 'SHADOW',
          decisions: [
            { recipient: 'info@example.com', action: 'default', defaultAction: 'deliver', shadow: [{ ruleId: 'try-catch-all', action: 'bounce' }] },
            { recipient: 'former@example.com', action: 'default', defaultAction: 'deliver', shadow: [{ ruleId: 'former-employee', action: 'bounce', stackWide: true }] },
          ],
          shadowVerdict: { guard: { allowed: true, reasons: [] }, budget: 'spent' },
        }),
      );
      const r = await runCli(['explain', 'msg-shadow', ...flags]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('State       SHADOW: only shadow rules matched; nothing was bounced or dropped');
      expect(r.stdout).toContain('Guard       allowed (for the shadow bounces; nothing was bounced)');
      expect(r.stdout).toContain('Shadow      guard ok, sender budget spent: the bounce would not have gone out');
      expect(r.stdout).toMatch(/^RECIPIENT\s+DECISION\s+RULE\s+.*EXPLANATION\s+SHADOW$/m);
      expect(r.stdout).toMatch(/info@example\.com\s+default \(deliver\)\s+-.*shadow=try-catch-all would-bounce guard=ok budget=spent/);
      expect(r.stdout).toMatch(/former@example\.com\s+default \(deliver\)\s+-.*shadow=former-employee would-bounce stack-wide guard=ok budget=spent/);
    });

    it('issue 15: shows a DROPPED record: the drop, and a guard that was not consulted', async () => {
      const { table, flags } = await newStateTable(client);
      const ledger = new DynamoDbMessageLedger({ client, tableName: table });
      await ledger.claim(record('msg-dropped', { state: 'DROPPED', decisions: [{ recipient: 'trap@example.com', action: 'drop', ruleId: 'spam-trap' }] }));
      const r = await runCli(['explain', 'msg-dropped', ...flags]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('State       DROPPED: recipients were dropped without a DSN; nothing was sent');
      expect(r.stdout).toContain('Guard       not consulted (no DSN: nothing was bounced)');
      expect(r.stdout).toMatch(/trap@example\.com\s+drop \(no DSN\)\s+spam-trap/);
      expect(r.stdout).not.toContain('SHADOW');
    });

    it('exits 1 explaining why there may be no record', async () => {
      const { flags } = await newStateTable(client);
      const r = await runCli(['explain', 'never-seen', ...flags]);
      expect(r).toEqual({ code: 1, stdout: '', stderr: 'ses-bouncer: no audit record for never-seen (allowed mail writes none, or the TTL expired)\n' });
    });

    it('exits 2 without a state table and 1 when it does not exist', async () => {
      const none = await runCli(['explain', 'x']);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('no state table: pass --state-table NAME or set SES_BOUNCER_STATE_TABLE');
      const { flags } = await newStateTable(client);
      const missing = await runCli(['explain', 'x', ...flags.slice(2), '--state-table', 'no-such-state']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^ses-bouncer: state table "no-such-state" does not exist at http/);
    });
  });
});
