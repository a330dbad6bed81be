/**
 * The rule index end to end (issue 15): mail through the receive and send
 * functions' real wiring (DynamoDB Local, s3rver, the SES stand-in), then
 * `rules report`'s reading of the state table. A message counts under each of
 * its rules, the audit item's entry follows the message to SENT, and a
 * further rule costs one BatchWriteItem on the receive side.
 */
import { reportRules, type RuleReport } from '../../cli/report/rule-report';
import { localDynamoDbClient } from '../support/dynamodb';
import { bounceRule, PipelineRig, type EventOverrides } from '../support/pipeline-rig';

describe('rule index (receive → send → rules report)', () => {
  let rig: PipelineRig;
  const client = localDynamoDbClient();

  beforeAll(async () => {
    rig = await PipelineRig.start({ consumers: 1 });
    await rig.putRule({ ruleId: 'try-catch-all', recipients: ['shadow.example'], action: 'bounce', mode: 'shadow' });
    await rig.putRule({ ruleId: 'spam-trap', recipients: ['trap@example.org'], action: 'drop' });
    await rig.putRule(bounceRule('gone', ['gone@example.org']));
    await rig.putRule(bounceRule('old-list', ['old-list@example.org']));
  });
  afterAll(async () => {
    client.destroy();
    await rig.close();
  });

  async function run(overrides: EventOverrides): Promise<{ id: string; writes: string[] }> {
    const event = await rig.arrive({ source: 'someone@sender.example', ...overrides });
    const before = rig.dynamoDbRequests.length;
    await rig.receive(event);
    const writes = rig.writeRequests(before).map((r) => r.command);
    await rig.drain();
    return { id: event.Records[0].ses.mail.messageId, writes };
  }

  const report = async (...ruleIds: string[]): Promise<Record<string, RuleReport>> => {
    const now = rig.clock.now();
    const reports = await reportRules(client, rig.config.stateTable, ruleIds, new Date(now - 3_600_000), new Date(now + 60_000));
    return Object.fromEntries(reports.map((r) => [r.ruleId, r]));
  };

  it('counts a message with a bounce, a drop and a shadow match under each rule, for one extra request', async () => {
    const mixed = await run({ recipients: ['gone@example.org', 'trap@example.org', 'info@shadow.example'] });
    // The claim with the first rule (gone), one batch for the other two, the budget.
    expect(mixed.writes).toEqual(['PutItemCommand', 'BatchWriteItemCommand', 'UpdateItemCommand']);
    const shadowOnly = await run({ recipients: ['sales@shadow.example'] });
    expect(shadowOnly.writes).toEqual(['PutItemCommand']);
    expect((await rig.audit(mixed.id))?.state).toBe('SENT');

    const r = await report('gone', 'spam-trap', 'try-catch-all');
    // The audit item's entry followed the message to SENT.
    expect(r.gone).toMatchObject({ messages: 1, bounced: 1, bouncedStates: { SENT: 1 }, asReceived: 0, examples: [mixed.id] });
    expect(r['spam-trap']).toMatchObject({ messages: 1, dropped: 1, examples: [mixed.id] });
    expect(r['try-catch-all']).toMatchObject({ messages: 2, wouldBounce: 2, wouldBounceRefused: 0, examples: [shadowOnly.id, mixed.id] });
  });

  it("keeps a further bounce rule's entry at its state at receipt, and says so", async () => {
    const both = await run({ recipients: ['gone@example.org', 'old-list@example.org'], source: 'another@sender.example' });
    expect((await rig.audit(both.id))?.state).toBe('SENT');
    const r = await report('old-list');
    expect(r['old-list']).toMatchObject({ messages: 1, bounced: 1, bouncedStates: { PENDING: 1 }, asReceived: 1 });
  });
});
