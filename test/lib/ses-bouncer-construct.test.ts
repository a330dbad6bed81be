import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '../../lambda/commons/errors';
import { SesBouncer, type SesBouncerProps } from '../../lib/ses-bouncer-construct';
import { buildStack, functionStatements, iamStatements, logicalId, render } from './template-support';

const VALID: SesBouncerProps = { recipients: ['example.com'], bounceSender: 'mailer-daemon@example.com' };

/** Constructs a bouncer in a fresh stack. */
function construct(props: Partial<SesBouncerProps> & Record<string, unknown>) {
  const app = new App();
  return new SesBouncer(new Stack(app, 'Props'), 'Bouncer', { ...VALID, ...props } as SesBouncerProps);
}

describe('SesBouncer', () => {
  describe('with activateRuleSet', () => {
    let built: ReturnType<typeof buildStack>;
    beforeAll(() => {
      built = buildStack({ 'ses-bouncer:activateRuleSet': true });
    });
    const template = () => built.template;

    it('creates one custom resource calling SES setActiveReceiptRuleSet with the set name on create and update only', () => {
      const resources = Object.values(template().findResources('Custom::AWS'));
      expect(resources).toHaveLength(1);
      const props = resources[0].Properties as Record<string, unknown>;
      for (const key of ['Create', 'Update']) {
        const call = JSON.parse(render(props[key]));
        expect(call).toMatchObject({ service: 'SES', action: 'setActiveReceiptRuleSet', parameters: { RuleSetName: 'Test-rule-set' } });
      }
      expect(props.Delete).toBeUndefined();
    });

    it('activates after the receipt rule exists', () => {
      const [activation] = Object.values(template().findResources('Custom::AWS'));
      const [rule] = Object.keys(template().findResources('AWS::SES::ReceiptRule'));
      expect(activation.DependsOn).toContain(rule);
    });

    it('allows only ses:SetActiveReceiptRuleSet on "*", the one documented wildcard', () => {
      const star = iamStatements(template()).filter((s) => s.resources.includes('*'));
      expect(star.map((s) => s.actions)).toEqual([['ses:SetActiveReceiptRuleSet']]);
    });

    it('stays clean under cdk-nag AwsSolutions', () => {
      const result = new AwsSolutionsChecks().validateScope(built.stack);
      expect(result.violations.map((v) => v.ruleName)).toEqual([]);
    });
  });

  describe('shadow', () => {
    it('sets SHADOW_MODE on the receive function from the shadow context key, false by default', () => {
      const id = (t: Template) => logicalId(t, 'AWS::Lambda::Function', 'BouncerReceiveFunction');
      const env = (t: Template) => t.findResources('AWS::Lambda::Function')[id(t)].Properties.Environment.Variables;
      expect(env(buildStack().template).SHADOW_MODE).toBe('false');
      expect(env(buildStack({ 'ses-bouncer:shadow': 'true' }).template).SHADOW_MODE).toBe('true');
    });
  });

  describe('tracing', () => {
    const FUNCTIONS = ['BouncerReceiveFunction', 'BouncerSendFunction', 'BouncerSweepFunction'];
    let off: ReturnType<typeof buildStack>;
    let on: ReturnType<typeof buildStack>;
    beforeAll(() => {
      off = buildStack();
      on = buildStack({ 'ses-bouncer:tracing': 'true' });
    });
    const fn = (t: Template, prefix: string) => t.findResources('AWS::Lambda::Function')[logicalId(t, 'AWS::Lambda::Function', prefix)].Properties;

    it('is off by default: no active tracing, TRACING=false (the functions never load the Tracer), no X-Ray permission', () => {
      for (const prefix of FUNCTIONS) {
        expect(fn(off.template, prefix).TracingConfig).toBeUndefined();
        expect(fn(off.template, prefix).Environment.Variables.TRACING).toBe('false');
      }
      expect(iamStatements(off.template).filter((s) => s.actions.some((a) => a.startsWith('xray:')))).toEqual([]);
    });

    it('with tracing: true gives every function active tracing, TRACING=true and the X-Ray write permission', () => {
      for (const prefix of FUNCTIONS) {
        expect(fn(on.template, prefix).TracingConfig).toEqual({ Mode: 'Active' });
        expect(fn(on.template, prefix).Environment.Variables.TRACING).toBe('true');
        const xray = functionStatements(on.template, prefix).filter((s) => s.actions.some((a) => a.startsWith('xray:')));
        expect(xray.flatMap((s) => s.actions).sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
      }
    });

    it('stays clean under cdk-nag AwsSolutions with tracing on', () => {
      const result = new AwsSolutionsChecks().validateScope(on.stack);
      expect(result.violations.map((v) => v.ruleName)).toEqual([]);
    });

    it('takes the prop from the construct as well as from context', () => {
      const template = Template.fromStack(Stack.of(construct({ tracing: true })));
      template.hasResourceProperties('AWS::Lambda::Function', { TracingConfig: { Mode: 'Active' } });
    });
  });

  describe('with an existing rule set', () => {
    let built: ReturnType<typeof buildStack>;
    beforeAll(() => {
      built = buildStack({
        'ses-bouncer:ruleSetName': 'default-rule-set',
        'ses-bouncer:useExistingRuleSet': 'true',
        'ses-bouncer:ruleName': 'bouncer',
      });
    });
    const template = () => built.template;

    it('creates no rule set and adds the named rule to the existing one', () => {
      template().resourceCountIs('AWS::SES::ReceiptRuleSet', 0);
      template().hasResourceProperties('AWS::SES::ReceiptRule', { RuleSetName: 'default-rule-set', Rule: { Name: 'bouncer' } });
    });

    it('scopes the invoke permission to the rule in that set', () => {
      const [permission] = Object.values(template().findResources('AWS::Lambda::Permission', { Properties: { Principal: 'ses.amazonaws.com' } }));
      expect(render(permission.Properties.SourceArn)).toMatch(/:receipt-rule-set\/default-rule-set:receipt-rule\/bouncer$/);
    });
  });

  describe('with sending authorization and other settings', () => {
    const arn = 'arn:aws:ses:eu-west-1:123456789012:identity/example.net';
    let built: ReturnType<typeof buildStack>;
    beforeAll(() => {
      built = buildStack({
        'ses-bouncer:bounceSenderArn': arn,
        'ses-bouncer:invocationType': 'RequestResponse',
        'ses-bouncer:alarmEmail': 'ops@example.com',
        'ses-bouncer:retentionDays': '7',
        'ses-bouncer:tlsPolicy': 'require',
        'ses-bouncer:sendReservedConcurrency': 'none',
      });
    });
    const template = () => built.template;

    it('allows ses:SendBounce only on the given identity ARN and passes it to the functions', () => {
      const statements = functionStatements(template(), 'BouncerSendFunction').filter((s) => s.actions.includes('ses:SendBounce'));
      expect(statements.map((s) => s.resources)).toEqual([[arn]]);
      template().hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { BOUNCE_SENDER_ARN: arn } } });
    });

    it('uses the invocation type, TLS policy and retention days', () => {
      template().hasResourceProperties('AWS::SES::ReceiptRule', {
        Rule: { TlsPolicy: 'Require', Actions: [{}, { LambdaAction: { InvocationType: 'RequestResponse' } }] },
      });
      template().hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { AUDIT_TTL_DAYS: '7' } } });
      const [bucket] = Object.values(template().findResources('AWS::S3::Bucket'));
      expect(JSON.stringify(bucket.Properties.LifecycleConfiguration)).toContain('"ExpirationInDays":7');
    });

    it('subscribes the alarm address and reserves no concurrency', () => {
      template().hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
      const functions = Object.values(template().findResources('AWS::Lambda::Function'));
      expect(functions.filter((f) => f.Properties.ReservedConcurrentExecutions !== undefined)).toEqual([]);
    });
  });

  describe('props validation', () => {
    it.each<[string, Record<string, unknown>, RegExp]>([
      ['recipients is empty', { recipients: [] }, /recipients must list at least one address or domain \(got \[\]\)/],
      ['a recipient has a space', { recipients: ['exa mple.com'] }, /recipients entry must be .* \(got "exa mple\.com"\)/],
      ['bounceSender is no address', { bounceSender: 'mailer-daemon' }, /bounceSender must be an address .* \(got "mailer-daemon"\)/],
      ['bounceSenderArn is no identity ARN', { bounceSenderArn: 'arn:aws:iam::1:role/x' }, /bounceSenderArn must be an SES identity ARN \(got "arn:aws:iam::1:role\/x"\)/],
      ['reportingMta is no host name', { reportingMta: 'dns; mx' }, /reportingMta must be a host name .* \(got "dns; mx"\)/],
      ['an existing rule set has no name', { useExistingRuleSet: true }, /useExistingRuleSet needs ruleSetName/],
      ['ruleName has a slash', { ruleName: 'a/b' }, /ruleName must be .* \(got "a\/b"\)/],
      ['mailPrefix lacks the slash', { mailPrefix: 'mail' }, /mailPrefix must be a key prefix ending with "\/".* \(got "mail"\)/],
      ['retentionDays is zero', { retentionDays: 0 }, /retentionDays must be a whole number from 1 to 3650 \(got 0\)/],
      ['invocationType is unknown', { invocationType: 'Async' }, /invocationType must be one of Event, RequestResponse \(got "Async"\)/],
      ['senderAuthPolicy is unknown', { senderAuthPolicy: 'dkim' }, /senderAuthPolicy must be one of .* \(got "dkim"\)/],
      ['rateGateKey has a space', { rateGateKey: 'a b' }, /rateGateKey must be .* \(got "a b"\)/],
      ['senderBudgetPerDomain is fractional', { senderBudgetPerDomain: 1.5 }, /senderBudgetPerDomain must be a whole number .* \(got 1\.5\)/],
      ['sendReservedConcurrency is zero', { sendReservedConcurrency: 0 }, /sendReservedConcurrency must be a whole number from 1 to 10 \(got 0\)/],
    ])('throws a ConfigError quoting the value when %s', (_case, props, message) => {
      expect(() => construct(props)).toThrow(ConfigError);
      expect(() => construct(props)).toThrow(message);
    });

    it('accepts addresses, domains and .domains as recipients and defaults reportingMta to the sender domain', () => {
      const bouncer = construct({ recipients: ['info@example.com', 'example.org', '.example.net'] });
      const vars = Template.fromStack(Stack.of(bouncer)).findResources('AWS::Lambda::Function');
      const envs = Object.values(vars).map((f) => f.Properties.Environment.Variables.REPORTING_MTA);
      expect(envs).toEqual(['example.com', 'example.com', 'example.com']);
    });

    it('shortens the default names of a long stack to the 63 characters SES allows', () => {
      const app = new App();
      const bouncer = new SesBouncer(new Stack(app, 'S'.repeat(100)), 'Bouncer', VALID);
      expect(bouncer.ruleSetName.length).toBeLessThanOrEqual(63);
      expect(bouncer.ruleName.length).toBeLessThanOrEqual(63);
      expect(bouncer.ruleName).toMatch(/-bouncer$/);
    });
  });
});
