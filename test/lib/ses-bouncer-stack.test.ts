import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { METRICS_NAMESPACE, MetricName } from '../../lambda/commons/metrics';
import { RULES_PARTITION_KEY, STATE_PARTITION_KEY, STATE_TTL_ATTRIBUTE } from '../../lambda/config/tables';
import { sendReserveMs } from '../../lambda/app/send-wiring';
import type { SesBouncerStack } from '../../lib/ses-bouncer-stack';
import { buildStack, functionStatements, iamStatements, logicalId, render } from './template-support';

/** The receipt rule's ARN, as render() prints it. */
const ruleArn = 'arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:receipt-rule-set/Test-rule-set:receipt-rule/Test-bouncer';

describe('SesBouncerStack', () => {
  let stack: SesBouncerStack;
  let template: Template;

  // One build per file.
  beforeAll(() => {
    ({ stack, template } = buildStack());
  });

  describe('receipt rule', () => {
    it('stores the message under the prefix, then invokes the receive function, in that order', () => {
      const receiveFn = logicalId(template, 'AWS::Lambda::Function', 'BouncerReceiveFunction');
      template.hasResourceProperties('AWS::SES::ReceiptRule', {
        Rule: {
          Name: 'Test-bouncer',
          Enabled: true,
          ScanEnabled: true,
          Recipients: ['example.com', 'info@example.org'],
          Actions: [
            { S3Action: { BucketName: { Ref: logicalId(template, 'AWS::S3::Bucket', 'BouncerMailBucket') }, ObjectKeyPrefix: 'mail/' } },
            { LambdaAction: { FunctionArn: { 'Fn::GetAtt': [receiveFn, 'Arn'] }, InvocationType: 'Event' } },
          ],
        },
      });
    });

    it('depends on the invoke permission and the bucket policy', () => {
      const rules = template.findResources('AWS::SES::ReceiptRule');
      const [rule] = Object.values(rules);
      expect(rule.DependsOn).toEqual(
        expect.arrayContaining([
          logicalId(template, 'AWS::Lambda::Permission', 'BouncerAllowSesInvoke'),
          logicalId(template, 'AWS::S3::BucketPolicy', 'BouncerMailBucketPolicy'),
        ]),
      );
    });

    it('creates a rule set when no existing one is named', () => {
      template.resourceCountIs('AWS::SES::ReceiptRuleSet', 1);
      template.hasResourceProperties('AWS::SES::ReceiptRuleSet', { RuleSetName: 'Test-rule-set' });
    });

    it('does not activate the rule set by default', () => {
      template.resourceCountIs('Custom::AWS', 0);
    });
  });

  describe('invoke permission', () => {
    it('lets only ses.amazonaws.com invoke, scoped by this account and this rule', () => {
      const permissions = Object.values(template.findResources('AWS::Lambda::Permission'));
      const fromSes = permissions.filter((p) => p.Properties.Principal === 'ses.amazonaws.com');
      expect(fromSes).toHaveLength(1);
      expect(fromSes[0].Properties.SourceAccount).toEqual({ Ref: 'AWS::AccountId' });
      expect(render(fromSes[0].Properties.SourceArn)).toBe(ruleArn);
      expect(render(fromSes[0].Properties.FunctionName)).toMatch(/^\$\{BouncerReceiveFunction\w+\.Arn\}$/);
    });
  });

  describe('mail bucket', () => {
    it('lets SES put objects only under the prefix, for this account and rule', () => {
      const [policy] = Object.values(template.findResources('AWS::S3::BucketPolicy'));
      const statements = policy.Properties.PolicyDocument.Statement as Record<string, any>[];
      const ses = statements.filter((s) => s.Principal?.Service === 'ses.amazonaws.com');
      expect(ses).toHaveLength(1);
      expect(ses[0].Effect).toBe('Allow');
      expect(ses[0].Action).toBe('s3:PutObject');
      expect(render(ses[0].Resource)).toMatch(/^\$\{BouncerMailBucket\w+\.Arn\}\/mail\/\*$/);
      expect(ses[0].Condition.StringEquals['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
      expect(render(ses[0].Condition.ArnLike['aws:SourceArn'])).toBe(ruleArn);
    });

    it('denies requests without TLS', () => {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    it('encrypts with S3-managed keys, blocks public access and expires mail after the retention days', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LifecycleConfiguration: {
          Rules: Match.arrayWith([Match.objectLike({ Prefix: 'mail/', ExpirationInDays: 30, Status: 'Enabled' })]),
        },
      });
    });
  });

  describe('tables', () => {
    it('keys the rules table by ruleId, on demand, with PITR and AWS-managed encryption, retained', () => {
      template.hasResource('AWS::DynamoDB::Table', {
        Properties: {
          KeySchema: [{ AttributeName: RULES_PARTITION_KEY, KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true },
        },
        DeletionPolicy: 'Retain',
      });
    });

    it('keys the state table by pk with TTL on expiresAt, on demand, with PITR and encryption', () => {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [{ AttributeName: STATE_PARTITION_KEY, KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: STATE_TTL_ATTRIBUTE, Enabled: true },
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      });
    });
  });

  describe('queues', () => {
    it('redrives bounce jobs to the DLQ after five receives, with SSE and a visibility of six send timeouts', () => {
      const dlq = logicalId(template, 'AWS::SQS::Queue', 'BouncerDeadLetterQueue');
      template.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 5 },
        SqsManagedSseEnabled: true,
        VisibilityTimeout: 720,
      });
      template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86400 });
    });

    it('denies non-TLS access to every queue', () => {
      const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
      const denied = policies.filter((p) =>
        (p.Properties.PolicyDocument.Statement as Record<string, any>[]).some(
          (s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
        ),
      );
      expect(denied).toHaveLength(3);
    });

    it('sends failed async receive invocations to the DLQ after two retries', () => {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: logicalId(template, 'AWS::Lambda::Function', 'BouncerReceiveFunction') },
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', 'BouncerDeadLetterQueue'), 'Arn'] } } },
      });
    });
  });

  describe('functions', () => {
    it('runs both on nodejs22.x arm64 with the timeouts SES and the rate gate need', () => {
      const receive = template.findResources('AWS::Lambda::Function')[logicalId(template, 'AWS::Lambda::Function', 'BouncerReceiveFunction')];
      const send = template.findResources('AWS::Lambda::Function')[logicalId(template, 'AWS::Lambda::Function', 'BouncerSendFunction')];
      for (const fn of [receive, send]) {
        expect(fn.Properties.Runtime).toBe('nodejs22.x');
        expect(fn.Properties.Architectures).toEqual(['arm64']);
      }
      expect(receive.Properties.Timeout).toBe(25);
      expect(send.Properties.Timeout).toBe(120);
      // The send handler leaves a record for redelivery when less than this remains.
      // The stack leaves MAX_SLOT_WAIT_MS at the config default (20 s).
      expect(send.Properties.Environment.Variables.MAX_SLOT_WAIT_MS).toBeUndefined();
      expect(send.Properties.Timeout * 1000).toBeGreaterThan(sendReserveMs() + 20_000);
      expect(send.Properties.ReservedConcurrentExecutions).toBe(2);
    });

    it('gives both functions exactly the config variables lambda/config reads', () => {
      const fn = template.findResources('AWS::Lambda::Function')[logicalId(template, 'AWS::Lambda::Function', 'BouncerReceiveFunction')];
      const vars = fn.Properties.Environment.Variables as Record<string, unknown>;
      expect(Object.keys(vars).filter((k) => !k.startsWith('POWERTOOLS_') && k !== 'NODE_OPTIONS').sort()).toEqual(
        [
          'AUDIT_TTL_DAYS',
          'BOUNCE_QUEUE_URL',
          'BOUNCE_SENDER',
          'LOG_ADDRESSES',
          'MAIL_BUCKET',
          'MAIL_PREFIX',
          'RATE_GATE_KEY',
          'REPORTING_MTA',
          'RULES_CACHE_SECONDS',
          'RULES_SNAPSHOT_BUCKET',
          'RULES_TABLE',
          'SENDER_AUTH_POLICY',
          'SENDER_BUDGET_PER_ADDRESS',
          'SENDER_BUDGET_PER_DOMAIN',
          'SHADOW_MODE',
          'STATE_TABLE',
          'TRACING',
        ].sort(),
      );
      expect(vars).toMatchObject({
        BOUNCE_SENDER: 'mailer-daemon@example.com',
        REPORTING_MTA: 'mx.example.com',
        MAIL_PREFIX: 'mail/',
        AUDIT_TTL_DAYS: '30',
        SENDER_AUTH_POLICY: 'spf-pass',
        LOG_ADDRESSES: 'false',
        POWERTOOLS_SERVICE_NAME: 'ses-bouncer',
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      });
    });

    it('feeds the send function one job at a time, reporting item failures, at most two at once', () => {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: logicalId(template, 'AWS::Lambda::Function', 'BouncerSendFunction') },
        BatchSize: 1,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 2 },
      });
    });
  });

  describe('compile step (issue 13)', () => {
    const compileFn = () => logicalId(template, 'AWS::Lambda::Function', 'BouncerCompileFunction');
    const rulesTable = () => logicalId(template, 'AWS::DynamoDB::Table', 'BouncerRulesTable');
    const snapshotBucket = () => logicalId(template, 'AWS::S3::Bucket', 'BouncerRulesSnapshotBucket');

    it('gives the rules table a keys-only stream (the compile reads the table again)', () => {
      const table = template.findResources('AWS::DynamoDB::Table')[rulesTable()];
      expect(table.Properties.StreamSpecification).toEqual({ StreamViewType: 'KEYS_ONLY' });
    });

    it('feeds the compile function from that stream in batches of up to 10,000 records or 15 s, retried 3 times, then to its own DLQ', () => {
      const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).filter((m) => m.Properties.FunctionName.Ref === compileFn());
      expect(mappings.map((m) => m.Properties)).toEqual([
        {
          FunctionName: { Ref: compileFn() },
          EventSourceArn: { 'Fn::GetAtt': [rulesTable(), 'StreamArn'] },
          StartingPosition: 'LATEST',
          BatchSize: 10_000,
          MaximumBatchingWindowInSeconds: 15,
          MaximumRetryAttempts: 3,
          BisectBatchOnFunctionError: false,
          DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', 'BouncerCompileDeadLetterQueue'), 'Arn'] } } },
        },
      ]);
    });

    it('also compiles every 6 hours with an empty stream event', () => {
      const rules = Object.values(template.findResources('AWS::Events::Rule')).map((r) => r.Properties);
      const recompile = rules.filter((r) => r.Targets.some((t: { Arn: unknown }) => render(t.Arn) === `\${${compileFn()}.Arn}`));
      expect(recompile).toHaveLength(1);
      expect(recompile[0].ScheduleExpression).toBe('rate(6 hours)');
      expect(JSON.parse(recompile[0].Targets[0].Input)).toEqual({ Records: [] });
    });

    it('keeps snapshots in a private, encrypted, TLS-only bucket of their own, expiring old ones after 7 days, retained like the rules table', () => {
      const bucket = template.findResources('AWS::S3::Bucket')[snapshotBucket()];
      expect(bucket.DeletionPolicy).toBe('Retain');
      expect(bucket.Properties).toMatchObject({
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      });
      expect(bucket.Properties.LifecycleConfiguration.Rules).toContainEqual(expect.objectContaining({ Prefix: 'rules/', ExpirationInDays: 7, Status: 'Enabled' }));
      const policies = Object.values(template.findResources('AWS::S3::BucketPolicy')).filter((p) => p.Properties.Bucket.Ref === snapshotBucket());
      expect(policies).toHaveLength(1);
      const statements = policies[0].Properties.PolicyDocument.Statement as Record<string, any>[];
      expect(statements.filter((st) => st.Effect === 'Deny' && st.Condition?.Bool?.['aws:SecureTransport'] === 'false')).toHaveLength(1);
      // Nobody but the two functions' roles (IAM) may use it: no Allow in the bucket policy.
      expect(statements.filter((st) => st.Effect === 'Allow')).toEqual([]);
    });

    it('tells receive and compile where the snapshots are, and no other function', () => {
      const env = (prefix: string) => template.findResources('AWS::Lambda::Function')[logicalId(template, 'AWS::Lambda::Function', prefix)].Properties.Environment.Variables;
      for (const fn of ['BouncerReceiveFunction', 'BouncerCompileFunction']) expect(env(fn).RULES_SNAPSHOT_BUCKET).toEqual({ Ref: snapshotBucket() });
      for (const fn of ['BouncerSendFunction', 'BouncerSweepFunction']) expect(env(fn).RULES_SNAPSHOT_BUCKET).toBeUndefined();
    });

    it('lets compile read the stream and scan the rules, write snapshots and the rules pointer, and nothing else', () => {
      const statements = functionStatements(template, 'BouncerCompileFunction').map((st) => ({ actions: [...st.actions].sort(), resources: st.resources, condition: st.condition }));
      expect(statements).toEqual(
        expect.arrayContaining([
          { actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'], resources: [`\${${rulesTable()}.StreamArn}`], condition: undefined },
          { actions: ['dynamodb:Scan'], resources: [`\${${rulesTable()}.Arn}`], condition: undefined },
          {
            actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
            resources: [expect.stringMatching(/^\$\{BouncerStateTable\w+\.Arn\}$/)],
            condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['rules#*'] } },
          },
          { actions: ['s3:DeleteObject', 's3:PutObject'], resources: [`\${${snapshotBucket()}.Arn}/rules/*`], condition: undefined },
        ]),
      );
      const all = statements.flatMap((st) => st.actions).sort();
      expect(all).toEqual(
        [
          'dynamodb:DescribeStream',
          'dynamodb:GetRecords',
          'dynamodb:GetShardIterator',
          'dynamodb:ListStreams',
          'dynamodb:PutItem',
          'dynamodb:Scan',
          'dynamodb:UpdateItem',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          's3:DeleteObject',
          's3:PutObject',
          // The on-failure destination: the compile DLQ only.
          'sqs:GetQueueAttributes',
          'sqs:GetQueueUrl',
          'sqs:SendMessage',
        ].sort(),
      );
      const sqs = statements.filter((st) => st.actions.includes('sqs:SendMessage'));
      expect(sqs.flatMap((st) => st.resources)).toEqual([`\${${logicalId(template, 'AWS::SQS::Queue', 'BouncerCompileDeadLetterQueue')}.Arn}`]);
    });

    it('gives no other function access to the snapshots or the rules pointer for writing', () => {
      for (const fn of ['BouncerReceiveFunction', 'BouncerSendFunction', 'BouncerSweepFunction']) {
        const statements = functionStatements(template, fn);
        expect(statements.filter((st) => st.resources.some((r) => r.startsWith(`\${${snapshotBucket()}`)) && st.actions.some((a) => a !== 's3:GetObject'))).toEqual([]);
        const rulesKeys = statements.filter((st) => JSON.stringify(st.condition ?? {}).includes('rules#'));
        expect(rulesKeys.flatMap((st) => st.actions).filter((a) => a !== 'dynamodb:GetItem')).toEqual([]);
      }
    });
  });

  describe('IAM', () => {
    it('allows ses:SendBounce only on the bounce sender address and domain identities', () => {
      const sendBounce = iamStatements(template).filter((s) => s.actions.some((a) => a.startsWith('ses:')));
      expect(sendBounce).toHaveLength(1);
      expect(sendBounce[0].actions).toEqual(['ses:SendBounce']);
      const identity = '${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/';
      expect([...sendBounce[0].resources].sort()).toEqual(
        [`arn:${identity}example.com`, `arn:${identity}mailer-daemon@example.com`].sort(),
      );
      const sendRole = functionStatements(template, 'BouncerSendFunction');
      expect(sendRole).toContainEqual(sendBounce[0]);
    });

    it('lets the receive function read mail only under the prefix and snapshots only under rules/, and nothing else from S3', () => {
      const s3 = functionStatements(template, 'BouncerReceiveFunction').filter((s) => s.actions.some((a) => a.startsWith('s3:')));
      expect(s3.map((s) => s.actions)).toEqual([['s3:GetObject'], ['s3:GetObject']]);
      expect(s3.flatMap((s) => s.resources).sort()).toEqual([
        expect.stringMatching(/^\$\{BouncerMailBucket\w+\.Arn\}\/mail\/\*$/),
        expect.stringMatching(/^\$\{BouncerRulesSnapshotBucket\w+\.Arn\}\/rules\/\*$/),
      ]);
      expect(functionStatements(template, 'BouncerSendFunction').some((s) => s.actions.some((a) => a.startsWith('s3:')))).toBe(false);
    });

    it('grants the receive function rules reads, state writes and job sends', () => {
      const statements = functionStatements(template, 'BouncerReceiveFunction');
      const on = (prefix: string) => statements.filter((s) => s.resources.some((r) => r.startsWith(`\${${prefix}`))).flatMap((s) => s.actions);
      expect(on('BouncerRulesTable').sort()).toEqual(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan']);
      expect(on('BouncerStateTable').sort()).toEqual([
        'dynamodb:BatchWriteItem',
        'dynamodb:GetItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
      ]);
      expect(on('BouncerBounceQueue')).toEqual(['sqs:SendMessage']);
      // Issue 12, defect 14: message claims and budgets only, never the rate gate; issue 13: the rules
      // pointer, read only; issue 15: batch writes only of a message's further rule-index items.
      const state = statements.filter((s) => s.resources.some((r) => r.startsWith('${BouncerStateTable')));
      expect(state.map((s) => [s.actions, s.condition])).toEqual([
        [['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['msg#*', 'budget#*'] } }],
        [['dynamodb:GetItem'], { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['rules#*'] } }],
        [['dynamodb:BatchWriteItem'], { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['match#*'] } }],
      ]);
      expect(statements.some((s) => s.actions.includes('ses:SendBounce'))).toBe(false);
    });

    it('grants the send function state writes and no rules-table access', () => {
      const statements = functionStatements(template, 'BouncerSendFunction');
      expect(statements.some((s) => s.resources.some((r) => r.startsWith('${BouncerRulesTable')))).toBe(false);
      const state = statements.filter((s) => s.resources.some((r) => r.startsWith('${BouncerStateTable'))).flatMap((s) => s.actions);
      // Issue 12, defect 14: no PutItem (the sender never creates an item), and only message and gate items.
      expect(state.sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
      const fenced = statements.filter((s) => s.resources.some((r) => r.startsWith('${BouncerStateTable')));
      for (const s of fenced) expect(s.condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['msg#*', 'gate#*'] } });
    });

    it('defect 3/14: lets the sweep query only the open index and update only message items', () => {
      const statements = functionStatements(template, 'BouncerSweepFunction');
      const query = statements.filter((s) => s.actions.includes('dynamodb:Query'));
      expect(query).toHaveLength(1);
      expect(query[0].resources).toEqual([expect.stringMatching(/^\$\{BouncerStateTable\w+\.Arn\}\/index\/open-by-age$/)]);
      const update = statements.filter((s) => s.actions.includes('dynamodb:UpdateItem'));
      expect(update.map((s) => s.condition)).toEqual([{ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['msg#*'] } }]);
      expect(statements.flatMap((s) => s.actions).sort()).toEqual(['dynamodb:Query', 'dynamodb:UpdateItem', 'logs:CreateLogStream', 'logs:PutLogEvents', 'sqs:SendMessage'].sort());
    });

    it('defect 3: runs the sweep every 10 minutes and gives the state table a sparse open index', () => {
      template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(10 minutes)' });
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        GlobalSecondaryIndexes: [
          Match.objectLike({
            IndexName: 'open-by-age',
            KeySchema: [
              { AttributeName: 'openState', KeyType: 'HASH' },
              { AttributeName: 'updatedAt', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          }),
          Match.objectLike({ IndexName: 'rule-by-time' }),
        ],
      });
    });

    it('issue 15: gives the state table a rule index by day and time projecting only what the report reads', () => {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        GlobalSecondaryIndexes: Match.arrayWith([
          {
            IndexName: 'rule-by-time',
            KeySchema: [
              { AttributeName: 'ruleKey', KeyType: 'HASH' },
              { AttributeName: 'createdAt', KeyType: 'RANGE' },
            ],
            Projection: {
              ProjectionType: 'INCLUDE',
              NonKeyAttributes: ['messageId', 'state', 'guard', 'shadowVerdict', 'ruleOutcome', 'ruleRecipients'],
            },
          },
        ]),
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      });
    });

    it('defect 14: keeps the log groups when the stack is deleted, unless told otherwise', () => {
      const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
      expect(groups).toHaveLength(4);
      for (const g of groups) expect(g.DeletionPolicy).toBe('Retain');
    });

    it('has no "*" resource and no wildcard action in any policy', () => {
      const statements = iamStatements(template);
      expect(statements.length).toBeGreaterThan(5);
      expect(statements.filter((s) => s.resources.includes('*'))).toEqual([]);
      expect(statements.filter((s) => s.actions.some((a) => a.includes('*')))).toEqual([]);
    });

    it('uses no AWS managed policy on the function roles', () => {
      const roles = Object.values(template.findResources('AWS::IAM::Role'));
      expect(roles.length).toBeGreaterThanOrEqual(2);
      for (const role of roles) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    });
  });

  describe('observability', () => {
    it('encrypts the alarm topic with a rotating KMS key that CloudWatch may use, and enforces TLS', () => {
      const key = logicalId(template, 'AWS::KMS::Key', 'BouncerAlarmTopicKey');
      template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] } });
      template.hasResourceProperties('AWS::KMS::Key', {
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
          ]),
        },
      });
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    });

    it('has no e-mail subscription unless alarmEmail is set', () => {
      template.resourceCountIs('AWS::SNS::Subscription', 0);
    });

    it('alarms on function errors, DLQ messages, old jobs, expired or unknown bounces, invalid rules, failed compiles and unreadable mail', () => {
      const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
      const topic = logicalId(template, 'AWS::SNS::Topic', 'BouncerAlarmTopic');
      for (const alarm of alarms) {
        expect(alarm.AlarmActions).toEqual([{ Ref: topic }]);
        expect(alarm.ComparisonOperator).toBe('GreaterThanThreshold');
      }
      const find = (metricName: string, namespace: string) => alarms.filter((a) => a.MetricName === metricName && a.Namespace === namespace);
      expect(find('Errors', 'AWS/Lambda')).toHaveLength(4);
      expect(find('ApproximateNumberOfMessagesVisible', 'AWS/SQS')).toHaveLength(2);
      expect(find('ApproximateAgeOfOldestMessage', 'AWS/SQS')[0].Threshold).toBe(3600);
      // Issue 12, defect 13: BouncesFailed pages someone too.
      for (const name of [MetricName.BouncesExpired, MetricName.InvalidRules, MetricName.BouncesFailed, MetricName.BouncesUnknown, MetricName.MailReadFailed]) {
        const [alarm] = find(name, METRICS_NAMESPACE);
        expect(alarm.Threshold).toBe(0);
        // Powertools Metrics adds exactly `service` as the default dimension.
        expect(alarm.Dimensions).toEqual([{ Name: 'service', Value: 'ses-bouncer' }]);
      }
      expect(alarms).toHaveLength(12);
    });

    it('issue 13: alarms on compile errors and on the compile DLQ', () => {
      const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
      const compileFn = logicalId(template, 'AWS::Lambda::Function', 'BouncerCompileFunction');
      const compileDlq = logicalId(template, 'AWS::SQS::Queue', 'BouncerCompileDeadLetterQueue');
      const errors = alarms.filter((a) => a.MetricName === 'Errors' && a.Dimensions[0].Value.Ref === compileFn);
      expect(errors.map((a) => a.Threshold)).toEqual([0]);
      const dlq = alarms.filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible' && render(a.Dimensions[0].Value) === `\${${compileDlq}.QueueName}`);
      expect(dlq.map((a) => [a.Threshold, a.Statistic])).toEqual([[0, 'Maximum']]);
    });

    it('issue 13: InvalidRules alarms on the largest count a compile reported and keeps its state between compiles', () => {
      const [alarm] = Object.values(template.findResources('AWS::CloudWatch::Alarm'))
        .map((a) => a.Properties)
        .filter((a) => a.MetricName === MetricName.InvalidRules);
      // The count comes once per compile, not once per warm instance-minute: no data is no news, not OK.
      expect(alarm).toMatchObject({ Statistic: 'Maximum', Threshold: 0, TreatMissingData: 'ignore' });
    });

    it('has a dashboard showing every bouncer metric, a SEARCH over skip reasons and one over shadow outcomes', () => {
      const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
      const body = JSON.parse(render(dashboard.Properties.DashboardBody)) as {
        widgets: { properties: { metrics: (string | Record<string, string>)[][] } }[];
      };
      const rows = body.widgets.flatMap((w) => w.properties.metrics);
      const plotted = rows.filter((row) => row[0] === METRICS_NAMESPACE).map((row) => row[1]);
      const expressions = rows.map((row) => row[0]).filter((cell): cell is Record<string, string> => typeof cell === 'object');
      const searched: string[] = [MetricName.BouncesSkipped, MetricName.ShadowMatches];
      for (const name of Object.values(MetricName).filter((n) => !searched.includes(n))) expect(plotted).toContain(name);
      expect(expressions.map((e) => e.expression)).toEqual(
        expect.arrayContaining([
          `SEARCH('{${METRICS_NAMESPACE},reason,service} MetricName="${MetricName.BouncesSkipped}" service="ses-bouncer"', 'Sum', 300)`,
          `SEARCH('{${METRICS_NAMESPACE},outcome,service} MetricName="${MetricName.ShadowMatches}" service="ses-bouncer"', 'Sum', 300)`,
        ]),
      );
    });
  });

  describe('outputs', () => {
    it('names the tables, bucket, functions, queues, rule set and alarm topic', () => {
      const outputs = Object.keys(template.findOutputs('*'));
      expect(outputs).toEqual(
        expect.arrayContaining([
          'RulesTableName',
          'StateTableName',
          'MailBucketName',
          'ReceiveFunctionName',
          'SendFunctionName',
          'CompileFunctionName',
          'RulesSnapshotBucketName',
          'CompileDeadLetterQueueUrl',
          'BounceQueueUrl',
          'BounceQueueName',
          'DeadLetterQueueUrl',
          'DeadLetterQueueName',
          'ReceiptRuleSetName',
          'AlarmTopicArn',
          'DashboardName',
        ]),
      );
    });
  });

  describe('cdk-nag AwsSolutions', () => {
    it('reports no unacknowledged error or warning', () => {
      const result = new AwsSolutionsChecks().validateScope(stack);
      expect(result.violations.map((v) => `${v.severity} ${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
      expect(result.success).toBe(true);
    });
  });
});
