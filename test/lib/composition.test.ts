import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ses from 'aws-cdk-lib/aws-ses';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '../../lambda/commons/errors';
import { RulePosition, SesBouncer, type SesBouncerProps } from '../../lib/ses-bouncer-construct';
import { buildStack, functionStatements, iamStatements, logicalId, render } from './template-support';

const VALID: SesBouncerProps = { recipients: ['example.com'], bounceSender: 'mailer-daemon@example.com' };

/** A fresh stack holding what a user already has: a bucket, a rule set with a delivery rule, a key. */
function userStack() {
  const app = new App();
  const stack = new Stack(app, 'Mail');
  const bucket = new s3.Bucket(stack, 'Archive');
  const ruleSet = ses.ReceiptRuleSet.fromReceiptRuleSetName(stack, 'Active', 'active-set');
  const delivery = ses.ReceiptRule.fromReceiptRuleName(stack, 'Deliver', 'deliver-to-workmail');
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  return { app, stack, bucket, ruleSet, delivery, key };
}

const functionEnv = (template: Template, prefix: string) =>
  template.findResources('AWS::Lambda::Function')[logicalId(template, 'AWS::Lambda::Function', prefix)].Properties.Environment.Variables as Record<string, unknown>;

const rules = (template: Template) => Object.values(template.findResources('AWS::SES::ReceiptRule')).map((r) => r.Properties as { RuleSetName: unknown; After?: unknown; Rule: { Name: string; Actions: Record<string, Record<string, unknown>>[] } });

describe('SesBouncer composition', () => {
  describe('existingBucket and mailPrefix', () => {
    const { stack, bucket } = userStack();
    new SesBouncer(stack, 'Bouncer', { ...VALID, existingBucket: bucket, mailPrefix: 'inbound/' });
    const template = Template.fromStack(stack);
    const bucketId = logicalId(template, 'AWS::S3::Bucket', 'Archive');

    it('creates no mail bucket (only its own snapshot bucket) and stores mail in the given one under the prefix', () => {
      expect(Object.keys(template.findResources('AWS::S3::Bucket')).sort()).toEqual([bucketId, logicalId(template, 'AWS::S3::Bucket', 'BouncerRulesSnapshotBucket')].sort());
      expect(rules(template)[0].Rule.Actions[0]).toEqual({ S3Action: { BucketName: { Ref: bucketId }, ObjectKeyPrefix: 'inbound/' } });
      expect(functionEnv(template, 'BouncerReceiveFunction')).toMatchObject({ MAIL_BUCKET: { Ref: bucketId }, MAIL_PREFIX: 'inbound/' });
    });

    it("adds the SES write statement, scoped to this rule, to that bucket's policy and waits for it", () => {
      const policy = Object.entries(template.findResources('AWS::S3::BucketPolicy'))[0];
      const statement = (policy[1].Properties.PolicyDocument.Statement as Record<string, unknown>[]).find((s) => s.Sid === 'AllowSesPutMail')!;
      expect(render((statement.Resource as unknown))).toBe(`\${${bucketId}.Arn}/inbound/*`);
      expect(render((statement.Condition as { ArnLike: Record<string, unknown> }).ArnLike['aws:SourceArn'])).toMatch(/:receipt-rule\/Mail-Bouncer-[A-Za-z0-9]+-bouncer$/);
      const [rule] = Object.values(template.findResources('AWS::SES::ReceiptRule'));
      expect(rule.DependsOn).toContain(policy[0]);
    });

    it('lets the receive function read only under the prefix of that bucket (and the snapshots in its own)', () => {
      const reads = functionStatements(template, 'BouncerReceiveFunction').filter((s) => s.actions.some((a) => a.startsWith('s3:')));
      const snapshots = logicalId(template, 'AWS::S3::Bucket', 'BouncerRulesSnapshotBucket');
      expect(reads.map((s) => [s.actions, s.resources])).toEqual([
        [['s3:GetObject'], [`\${${snapshots}.Arn}/rules/*`]],
        [['s3:GetObject'], [`\${${bucketId}.Arn}/inbound/*`]],
      ]);
    });

    it('compiles rules into its own snapshot bucket, never into the given one', () => {
      const writes = iamStatements(template).filter((s) => s.actions.includes('s3:PutObject'));
      expect(writes.flatMap((s) => s.resources)).toEqual([`\${${logicalId(template, 'AWS::S3::Bucket', 'BouncerRulesSnapshotBucket')}.Arn}/rules/*`]);
    });
  });

  it('warns, naming the statement to add, when the existing bucket is imported', () => {
    const { stack } = userStack();
    new SesBouncer(stack, 'Bouncer', { ...VALID, existingBucket: s3.Bucket.fromBucketName(stack, 'Imported', 'my-mail') });
    Annotations.fromStack(stack).hasWarning('/Mail/Bouncer', Match.stringLikeRegexp('existingBucket is imported.*s3:PutObject on mail/\\*'));
  });

  describe('addS3Action: false, after the rule that already stores the mail', () => {
    it('has only the Lambda action, placed after that rule, reading from its bucket', () => {
      const { stack, bucket, ruleSet } = userStack();
      const store = ses.ReceiptRule.fromReceiptRuleName(stack, 'Store', 'store-all-mail');
      new SesBouncer(stack, 'Bouncer', {
        ...VALID,
        existingRuleSet: ruleSet,
        position: RulePosition.after(store),
        existingBucket: bucket,
        mailPrefix: 'all/',
        addS3Action: false,
        invocationType: 'RequestResponse',
      });
      const template = Template.fromStack(stack);
      const [rule] = rules(template);
      expect(rule.After).toBe('store-all-mail');
      expect(rule.Rule.Actions.map((a) => Object.keys(a)[0])).toEqual(['LambdaAction']);
      // The user's rule writes there already: no second write permission for this rule
      // (the one policy is the snapshot bucket's TLS-only policy).
      const policies = Object.values(template.findResources('AWS::S3::BucketPolicy'));
      expect(policies.map((p) => p.Properties.Bucket)).toEqual([{ Ref: logicalId(template, 'AWS::S3::Bucket', 'BouncerRulesSnapshotBucket') }]);
    });

    it.each<[string, Partial<SesBouncerProps>, RegExp]>([
      ['without existingBucket', { useExistingRuleSet: true, ruleSetName: 'active-set' }, /^addS3Action false needs existingBucket/],
      ['placed first', { useExistingRuleSet: true, ruleSetName: 'active-set', existingBucket: undefined as never }, /^addS3Action false needs/],
    ])('is refused %s, in one line', (_case, props, message) => {
      const { stack, bucket } = userStack();
      const all = { ...VALID, addS3Action: false, ...props, ...(_case === 'placed first' ? { existingBucket: bucket } : {}) };
      expect(() => new SesBouncer(stack, 'Bouncer', all)).toThrow(ConfigError);
      expect(() => new SesBouncer(stack, 'Bouncer2', all)).toThrow(message);
    });
  });

  describe('encryptionKey', () => {
    const { stack, key } = userStack();
    new SesBouncer(stack, 'Bouncer', { ...VALID, encryptionKey: key });
    const template = Template.fromStack(stack);
    const keyArn = { 'Fn::GetAtt': [logicalId(template, 'AWS::KMS::Key', 'Key'), 'Arn'] };

    it('encrypts both buckets, both tables and all three queues with it', () => {
      for (const prefix of ['BouncerMailBucket', 'BouncerRulesSnapshotBucket']) {
        const bouncerBucket = template.findResources('AWS::S3::Bucket')[logicalId(template, 'AWS::S3::Bucket', prefix)];
        expect(bouncerBucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault).toEqual({
          SSEAlgorithm: 'aws:kms',
          KMSMasterKeyID: keyArn,
        });
      }
      const tables = Object.values(template.findResources('AWS::DynamoDB::Table'));
      expect(tables).toHaveLength(2);
      for (const t of tables) expect(t.Properties.SSESpecification).toEqual({ KMSMasterKeyId: keyArn, SSEEnabled: true, SSEType: 'KMS' });
      const queues = Object.values(template.findResources('AWS::SQS::Queue'));
      expect(queues).toHaveLength(3);
      for (const q of queues) expect(q.Properties.KmsMasterKeyId).toEqual(keyArn);
    });

    it('lets SES encrypt with it for this rule only, and the functions use it with exact actions', () => {
      const [keyResource] = Object.values(template.findResources('AWS::KMS::Key', { Properties: { EnableKeyRotation: true, Description: Match.absent() } }));
      const ses = (keyResource.Properties.KeyPolicy.Statement as Record<string, unknown>[]).find((s) => s.Sid === 'AllowSesToEncryptMail')!;
      expect(ses.Principal).toEqual({ Service: 'ses.amazonaws.com' });
      expect(render((ses.Condition as { ArnLike: Record<string, unknown> }).ArnLike['aws:SourceArn'])).toMatch(/:receipt-rule\/.*-bouncer$/);
      for (const fn of ['BouncerReceiveFunction', 'BouncerSendFunction', 'BouncerCompileFunction']) {
        const kmsStatements = functionStatements(template, fn).filter((s) => s.actions.some((a) => a.startsWith('kms:')));
        // Ours for the tables; CDK adds its own for the queue grants (destination, event source), on the same key only.
        expect(kmsStatements.map((s) => [s.actions, s.resources])).toContainEqual([['kms:Decrypt', 'kms:GenerateDataKey'], [render(keyArn)]]);
        expect(new Set(kmsStatements.flatMap((s) => s.resources))).toEqual(new Set([render(keyArn)]));
      }
    });

    it('stays clean under cdk-nag AwsSolutions', () => {
      const result = new AwsSolutionsChecks().validateScope(stack);
      // The user's own bucket (Mail/Archive) is theirs to configure.
      expect(result.violations.filter((v) => v.violatingResources.some((r) => (r.constructPath ?? '').startsWith('Mail/Bouncer/'))).map((v) => `${v.severity} ${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(", ")}`)).toEqual([]);
    });
  });

  describe('existingRuleSet and position', () => {
    it('adds the rule first (no After) to the given set and creates no set', () => {
      const { stack, ruleSet } = userStack();
      const bouncer = new SesBouncer(stack, 'Bouncer', { ...VALID, existingRuleSet: ruleSet, invocationType: 'RequestResponse' });
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::SES::ReceiptRuleSet', 0);
      const [rule] = rules(template);
      expect(rule.RuleSetName).toBe('active-set');
      expect(rule.After).toBeUndefined();
      expect(bouncer.ruleSetName).toBe('active-set');
      Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
    });

    it('places the rule after the given rule', () => {
      const { stack, ruleSet, delivery } = userStack();
      new SesBouncer(stack, 'Bouncer', { ...VALID, existingRuleSet: ruleSet, position: RulePosition.after(delivery), invocationType: 'RequestResponse' });
      expect(rules(Template.fromStack(stack))[0].After).toBe('deliver-to-workmail');
    });

    it('warns when Event invocation sits in an existing set, before its delivery rules', () => {
      const { stack, ruleSet } = userStack();
      new SesBouncer(stack, 'Bouncer', { ...VALID, existingRuleSet: ruleSet });
      Annotations.fromStack(stack).hasWarning('/Mail/Bouncer', Match.stringLikeRegexp('invocationType Event in the existing rule set active-set.*use RequestResponse'));
    });

    it.each<[string, Partial<SesBouncerProps>, RegExp]>([
      ['activateRuleSet with existingRuleSet', { activateRuleSet: true }, /^activateRuleSet cannot be combined with existingRuleSet: the bouncer would switch the account's active rule set/],
      ['existingRuleSet with ruleSetName', { ruleSetName: 'other' }, /^existingRuleSet cannot be combined with ruleSetName or useExistingRuleSet/],
    ])('refuses %s in one line', (_case, props, message) => {
      const { stack, ruleSet } = userStack();
      let n = 0;
      const make = () => new SesBouncer(stack, `B${n++}`, { ...VALID, existingRuleSet: ruleSet, ...props });
      expect(make).toThrow(ConfigError);
      expect(make).toThrow(message);
      try {
        make();
      } catch (err) {
        expect((err as Error).message).not.toContain('\n');
      }
    });

    it('refuses activateRuleSet with useExistingRuleSet, and position without an existing set', () => {
      const { stack } = userStack();
      expect(() => new SesBouncer(stack, 'A', { ...VALID, useExistingRuleSet: true, ruleSetName: 'active-set', activateRuleSet: true })).toThrow(
        /^activateRuleSet cannot be combined with useExistingRuleSet/,
      );
      expect(() => new SesBouncer(stack, 'B', { ...VALID, position: RulePosition.first() })).toThrow(/^position applies to an existing rule set/);
    });
  });

  describe('several bouncers in one app', () => {
    it('gives each default-named bouncer its own rule set and rule', () => {
      const { stack } = userStack();
      const a = new SesBouncer(stack, 'A', VALID);
      const b = new SesBouncer(stack, 'B', VALID);
      expect(a.ruleSetName).not.toBe(b.ruleSetName);
      expect(a.ruleName).not.toBe(b.ruleName);
      const names = Object.values(Template.fromStack(stack).findResources('AWS::SES::ReceiptRuleSet')).map((r) => r.Properties.RuleSetName);
      expect(new Set(names).size).toBe(2);
    });

    it('refuses a second rule set or a second rule of the same name, naming the other bouncer', () => {
      const { stack, ruleSet } = userStack();
      new SesBouncer(stack, 'A', { ...VALID, ruleSetName: 'bouncers', ruleName: 'bouncer' });
      expect(() => new SesBouncer(stack, 'B', { ...VALID, ruleSetName: 'bouncers' })).toThrow(/^ruleSetName "bouncers" is already the rule set of the bouncer Mail\/A;/);
      new SesBouncer(stack, 'C', { ...VALID, existingRuleSet: ruleSet, ruleName: 'bounce', invocationType: 'RequestResponse' });
      expect(() => new SesBouncer(stack, 'D', { ...VALID, existingRuleSet: ruleSet, ruleName: 'bounce' })).toThrow(/^ruleName "bounce" is already the rule of the bouncer Mail\/C in the rule set "active-set"/);
    });

    it('shares the state table and rate gate key: no second table, both functions on the shared one', () => {
      const { stack, ruleSet } = userStack();
      const a = new SesBouncer(stack, 'A', VALID);
      new SesBouncer(stack, 'B', { ...VALID, existingRuleSet: ruleSet, existingStateTable: a.stateTable, invocationType: 'RequestResponse' });
      const template = Template.fromStack(stack);
      const stateTables = Object.keys(template.findResources('AWS::DynamoDB::Table')).filter((id) => id.includes('StateTable'));
      expect(stateTables).toEqual([logicalId(template, 'AWS::DynamoDB::Table', 'AStateTable')]);
      for (const fn of ['AReceiveFunction', 'ASendFunction', 'BReceiveFunction', 'BSendFunction']) {
        expect(functionEnv(template, fn)).toMatchObject({ STATE_TABLE: { Ref: stateTables[0] }, RATE_GATE_KEY: 'ses-sendbounce' });
      }
      const gate = iamStatements(template).filter((s) => s.actions.includes('dynamodb:UpdateItem'));
      expect(new Set(gate.flatMap((s) => s.resources))).toEqual(new Set([`\${${stateTables[0]}.Arn}`]));
      // Issue 15: both receive functions index their rules' matches in the shared table's one rule index.
      const index = iamStatements(template).filter((s) => s.actions.includes('dynamodb:BatchWriteItem'));
      expect(index.map((s) => s.resources)).toEqual([[`\${${stateTables[0]}.Arn}`], [`\${${stateTables[0]}.Arn}`]]);
      const indexes = Object.values(template.findResources('AWS::DynamoDB::Table'))
        .flatMap((t) => (t.Properties.GlobalSecondaryIndexes ?? []) as { IndexName: string }[])
        .map((i) => i.IndexName);
      expect(indexes.filter((name) => name === 'rule-by-time')).toHaveLength(1);
      Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('rate gates'));
      // Issue 13: each compiles its own rules table into its own bucket; the pointer key
      // names the rules table (rules#pointer#<table>), so the shared state table holds one each.
      const [a2, b2] = ['ACompileFunction', 'BCompileFunction'].map((fn) => functionEnv(template, fn));
      expect(a2.STATE_TABLE).toEqual(b2.STATE_TABLE);
      expect(a2.RULES_TABLE).not.toEqual(b2.RULES_TABLE);
      expect(a2.RULES_SNAPSHOT_BUCKET).not.toEqual(b2.RULES_SNAPSHOT_BUCKET);
      for (const fn of ['BReceiveFunction', 'BCompileFunction']) expect(functionEnv(template, fn).RULES_TABLE).toEqual(b2.RULES_TABLE);
    });

    it('warns when two bouncers of one account and Region keep separate rate gates', () => {
      const { stack } = userStack();
      new SesBouncer(stack, 'A', VALID);
      new SesBouncer(stack, 'B', VALID);
      Annotations.fromStack(stack).hasWarning('/Mail/B', Match.stringLikeRegexp('keep separate SendBounce rate gates.*existingStateTable'));
    });
  });

  describe('from context (the repo app)', () => {
    it('names the context key the user typed, not the prop, in a one-line error', () => {
      expect(() => buildStack({ 'ses-bouncer:receiveMemoryMb': '64' })).toThrow(ConfigError);
      expect(() => buildStack({ 'ses-bouncer:receiveMemoryMb': '64' })).toThrow(/^context ses-bouncer:receiveMemoryMb must be a whole number from 128 to 10240 \(got 64\)$/);
      expect(() => buildStack({ 'ses-bouncer:recipients': 'exa mple.com' })).toThrow(/^context ses-bouncer:recipients entry must be/);
      expect(() => buildStack({ 'ses-bouncer:useExistingRuleSet': 'true', 'ses-bouncer:ruleSetName': 'active', 'ses-bouncer:activateRuleSet': 'true' })).toThrow(
        /^context ses-bouncer:activateRuleSet cannot be combined with useExistingRuleSet/,
      );
    });

    it("keeps the stack's names for the rule set and rule", () => {
      const { stack } = buildStack();
      expect(stack.bouncer.ruleSetName).toBe('Test-rule-set');
      expect(stack.bouncer.ruleName).toBe('Test-bouncer');
    });
  });
});
