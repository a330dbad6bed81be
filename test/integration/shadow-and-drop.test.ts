/**
 * Issue 15's "Must show", end to end: shadow rules, the stack-wide shadow
 * switch and drop rules through the receive and send functions' real wiring
 * on DynamoDB Local, s3rver and the SES stand-in (real SDK clients; only the
 * queue is the rig's SQS look-alike). DynamoDB requests are counted at the
 * SDK edge by the rig's middleware.
 */
import { MetricName } from '../../lambda/commons/metrics';
import { bounceRule, PipelineRig, type EventOverrides, type SesLambdaEvent } from '../support/pipeline-rig';

const idOf = (event: SesLambdaEvent) => event.Records[0].ses.mail.messageId;
/** SES invokes the function RequestResponse: its disposition decides whether later rules run. */
const requestResponse = (event: SesLambdaEvent) => {
  event.Records[0].ses.receipt.action = { ...event.Records[0].ses.receipt.action, invocationType: 'RequestResponse' };
};
const SENDER = 'someone@sender.example';

describe('shadow rules and drops (receive → queue → send)', () => {
  describe('rule-level shadow and drop', () => {
    let rig: PipelineRig;
    beforeAll(async () => {
      // One bounce per sender address per window: a shadow match that spent it would stop the real bounce below.
      rig = await PipelineRig.start({ consumers: 2, env: { SENDER_BUDGET_PER_ADDRESS: '1' } });
      await rig.putRule({ ruleId: 'try-catch-all', recipients: ['shadow.example'], action: 'bounce', mode: 'shadow' });
      await rig.putRule({ ruleId: 'spam-trap', recipients: ['trap@example.org'], action: 'drop' });
      await rig.putRule(bounceRule('gone', ['gone@example.org']));
    });
    afterAll(() => rig.close());

    /** Arrives, is received (RequestResponse) and drained; returns the disposition, the id and the writes it made. */
    async function run(overrides: EventOverrides) {
      const event = await rig.arrive({ source: SENDER, ...overrides, edit: requestResponse });
      const before = rig.dynamoDbRequests.length;
      const answer = await rig.receive(event);
      const requests = rig.dynamoDbRequests.slice(before).map((r) => r.command);
      const writes = rig.writeRequests(before).map((r) => r.command);
      await rig.drain();
      return { id: idOf(event), event, disposition: answer.disposition, requests, writes };
    }

    it('makes no SendBounce call for shadow matches, records SHADOW with the guard and budget verdicts, and spends no budget', async () => {
      const first = await run({ recipients: ['info@shadow.example'] });
      const second = await run({ recipients: ['sales@shadow.example'] });
      for (const m of [first, second]) {
        expect(m.disposition).toBe('CONTINUE');
        expect(rig.callsFor(m.id)).toEqual([]);
        // One write, the claim's conditional put; the budget is read (GetItem), never updated.
        expect(m.writes).toEqual(['PutItemCommand']);
        expect(m.requests).toContain('GetItemCommand');
        expect(await rig.audit(m.id)).toMatchObject({
          state: 'SHADOW',
          decisions: [{ action: 'default', shadow: [{ ruleId: 'try-catch-all', action: 'bounce' }] }],
          shadowVerdict: { guard: { allowed: true, reasons: [] }, budget: 'within' },
        });
      }
      expect(rig.metrics.get(`${MetricName.ShadowMatches}|outcome=would-bounce`)).toBe(2);
      // The one bounce this sender has per window is still there for a real bounce.
      const real = await run({ recipients: ['gone@example.org'] });
      expect(real.disposition).toBe('STOP_RULE_SET');
      expect(rig.callsFor(real.id).map((c) => c.outcome.kind)).toEqual(['accepted']);
      expect((await rig.audit(real.id))?.state).toBe('SENT');
      // And now it is spent: a shadow match says so, still without a call.
      const after = await run({ recipients: ['info@shadow.example'] });
      expect(await rig.audit(after.id)).toMatchObject({ state: 'SHADOW', shadowVerdict: { budget: 'spent' } });
      expect(rig.callsFor(after.id)).toEqual([]);
    });

    it("records the guard's refusal for a shadow match on unauthenticated mail", async () => {
      const m = await run({ recipients: ['info@shadow.example'], source: 'other@sender.example', verdicts: { spf: 'FAIL' } });
      expect(await rig.audit(m.id)).toMatchObject({
        state: 'SHADOW',
        shadowVerdict: { guard: { allowed: false, reasons: ['sender-not-authenticated'] }, budget: 'not-checked' },
      });
      expect(rig.callsFor(m.id)).toEqual([]);
    });

    it('drops without a call and stops the rule set when every recipient is bounced or dropped', async () => {
      const dropped = await run({ recipients: ['trap@example.org'] });
      expect(dropped.disposition).toBe('STOP_RULE_SET');
      expect(dropped.writes).toEqual(['PutItemCommand']);
      expect(rig.callsFor(dropped.id)).toEqual([]);
      expect(await rig.audit(dropped.id)).toMatchObject({ state: 'DROPPED', decisions: [{ recipient: 'trap@example.org', action: 'drop', ruleId: 'spam-trap' }] });

      const mixed = await run({ recipients: ['trap@example.org', 'gone@example.org'], source: 'third@sender.example' });
      expect(mixed.disposition).toBe('STOP_RULE_SET');
      const [call] = rig.callsFor(mixed.id);
      expect(rig.callsFor(mixed.id)).toHaveLength(1);
      expect(call.params['BouncedRecipientInfoList.member.1.Recipient']).toBe('gone@example.org');
      expect(call.params['BouncedRecipientInfoList.member.2.Recipient']).toBeUndefined();

      const partly = await run({ recipients: ['trap@example.org', 'someone@example.org'] });
      expect(partly.disposition).toBe('CONTINUE');
      expect(rig.metrics.get(MetricName.RecipientsDropped)).toBe(3);
    });

    it('writes nothing new when a shadow or drop message is received again', async () => {
      for (const recipients of [['info@shadow.example'], ['trap@example.org']]) {
        const event = await rig.arrive({ source: SENDER, recipients, edit: requestResponse });
        await rig.receive(event);
        const stored = await rig.rawItem(idOf(event));
        const before = rig.dynamoDbRequests.length;
        await rig.receive(event);
        // The conditional put is tried and refused: nothing changes.
        expect(rig.writeRequests(before).map((r) => r.command)).toEqual(['PutItemCommand']);
        expect(await rig.rawItem(idOf(event))).toEqual(stored);
        expect(rig.callsFor(idOf(event))).toEqual([]);
      }
    });
  });

  describe('the stack-wide shadow switch (SHADOW_MODE=true)', () => {
    let rig: PipelineRig;
    beforeAll(async () => {
      rig = await PipelineRig.start({ consumers: 2, env: { SHADOW_MODE: 'true', SENDER_BUDGET_PER_ADDRESS: '1' } });
      await rig.putRule(bounceRule('gone', ['gone@example.org']));
      await rig.putRule({ ruleId: 'spam-trap', recipients: ['trap@example.org'], action: 'drop' });
      await rig.putRule({ ruleId: 'vip', recipients: ['vip@example.org'], action: 'allow' });
    });
    afterAll(() => rig.close());

    it('bounces and drops nothing, makes no call, records SHADOW with stack-wide matches and the verdicts, and spends no budget', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const event = await rig.arrive({ source: SENDER, recipients: ['gone@example.org', 'trap@example.org'], edit: requestResponse });
        const before = rig.dynamoDbRequests.length;
        await expect(rig.receive(event)).resolves.toEqual({ disposition: 'CONTINUE' });
        // The claim, and one batch putting the message's second rule (spam-trap) in the rule index.
        expect(rig.writeRequests(before).map((r) => r.command)).toEqual(['PutItemCommand', 'BatchWriteItemCommand']);
        ids.push(idOf(event));
      }
      await rig.drain();
      expect(rig.standIn.calls).toEqual([]);
      expect(rig.queue.sent).toEqual([]);
      for (const id of ids) {
        expect(await rig.audit(id)).toMatchObject({
          state: 'SHADOW',
          decisions: [
            { recipient: 'gone@example.org', action: 'default', shadow: [{ ruleId: 'gone', action: 'bounce', stackWide: true }] },
            { recipient: 'trap@example.org', action: 'default', shadow: [{ ruleId: 'spam-trap', action: 'drop', stackWide: true }] },
          ],
          // Within both times: the first shadow bounce did not spend the sender's one bounce.
          shadowVerdict: { guard: { allowed: true, reasons: [] }, budget: 'within' },
        });
      }
      expect(rig.metrics.get(`${MetricName.ShadowMatches}|outcome=would-bounce`)).toBe(2);
      expect(rig.metrics.get(`${MetricName.ShadowMatches}|outcome=would-drop`)).toBe(2);
      expect(rig.metrics.get(MetricName.RecipientsDropped)).toBe(0);
    });

    it('still writes nothing for allowed mail', async () => {
      const event = await rig.arrive({ recipients: ['vip@example.org'] });
      const before = rig.dynamoDbRequests.length;
      await expect(rig.receive(event)).resolves.toEqual({ disposition: 'CONTINUE' });
      expect(rig.writeRequests(before)).toEqual([]);
      expect(await rig.audit(idOf(event))).toBeUndefined();
    });
  });
});
