import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { TlsPolicy } from 'aws-cdk-lib/aws-ses';
import { ConfigError } from '../../lambda/commons/errors';
import { CONTEXT_KEYS, readContext } from '../../lib/context';

const REQUIRED = {
  'ses-bouncer:recipients': ['example.com'],
  'ses-bouncer:bounceSender': 'mailer-daemon@example.com',
};

const read = (context: Record<string, unknown>) => readContext(new App({ context }).node);

describe('context', () => {
  describe('readContext', () => {
    describe('cdk.json', () => {
      const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as {
        context: Record<string, unknown>;
      };

      it('sets no ses-bouncer value, so a bare deploy fails naming the first missing key in one line', () => {
        expect(Object.keys(cdkJson.context).filter((k) => k.startsWith('ses-bouncer:'))).toEqual([]);
        expect(() => read(cdkJson.context)).toThrow(
          new ConfigError('context ses-bouncer:recipients is required: pass -c ses-bouncer:recipients=example.com or set it in cdk.json'),
        );
        expect(() => read({ ...cdkJson.context, 'ses-bouncer:recipients': 'example.com' })).toThrow(/^context ses-bouncer:bounceSender is required: pass -c ses-bouncer:bounceSender=\S+ or set it in cdk.json$/);
      });

      it('carries every feature flag cdk init writes for a new app, with its recommended value', () => {
        const recommended = JSON.parse(
          fs.readFileSync(require.resolve('aws-cdk-lib/recommended-feature-flags.json'), 'utf8'),
        ) as Record<string, unknown>;
        expect(Object.keys(recommended).length).toBeGreaterThan(50);
        expect(cdkJson.context).toMatchObject(recommended);
      });
    });

    it('accepts the strings `-c key=value` gives: JSON lists, comma lists, booleans and numbers', () => {
      const props = read({
        'ses-bouncer:recipients': '["example.com", "info@example.org"]',
        'ses-bouncer:bounceSender': 'mailer-daemon@example.com',
        'ses-bouncer:activateRuleSet': 'true',
        'ses-bouncer:logAddresses': 'false',
        'ses-bouncer:retentionDays': '14',
        'ses-bouncer:senderBudgetPerAddress': '0',
        'ses-bouncer:tlsPolicy': 'require',
        'ses-bouncer:sendReservedConcurrency': 'none',
        'ses-bouncer:tracing': 'true',
        'ses-bouncer:shadow': 'true',
      });
      expect(props).toMatchObject({
        tracing: true,
        shadow: true,
        recipients: ['example.com', 'info@example.org'],
        activateRuleSet: true,
        logAddresses: false,
        retentionDays: 14,
        senderBudgetPerAddress: 0,
        tlsPolicy: TlsPolicy.REQUIRE,
        sendReservedConcurrency: null,
      });
      expect(read({ ...REQUIRED, 'ses-bouncer:recipients': 'example.com, .example.net' }).recipients).toEqual([
        'example.com',
        '.example.net',
      ]);
    });

    it('reads receiveMemoryMb into the receive function\'s memory size when it is set', () => {
      expect(read({ ...REQUIRED, 'ses-bouncer:receiveMemoryMb': '2048' }).receiveMemorySize).toBe(2048);
      expect(read(REQUIRED).receiveMemorySize).toBeUndefined();
      expect(() => read({ ...REQUIRED, 'ses-bouncer:receiveMemoryMb': 'lots' })).toThrow(/ses-bouncer:receiveMemoryMb must be a whole number \(got "lots"\)/);
    });

    it('leaves unset keys undefined so the construct applies its defaults', () => {
      const props = read(REQUIRED);
      for (const key of Object.keys(CONTEXT_KEYS).filter((k) => k !== 'recipients' && k !== 'bounceSender')) {
        expect(props[key as keyof typeof props]).toBeUndefined();
      }
    });

    it.each<[string, Record<string, unknown>, RegExp]>([
      ['recipients is missing', { 'ses-bouncer:recipients': undefined }, /context ses-bouncer:recipients is required/],
      ['bounceSender is missing', { 'ses-bouncer:bounceSender': '' }, /context ses-bouncer:bounceSender is required/],
      ['recipients is broken JSON', { 'ses-bouncer:recipients': '["a"' }, /not a valid JSON list \(got "\[\\"a\\""\)/],
      ['recipients holds numbers', { 'ses-bouncer:recipients': [1] }, /must be a list of strings \(got \[1\]\)/],
      ['a boolean is "yes"', { 'ses-bouncer:activateRuleSet': 'yes' }, /ses-bouncer:activateRuleSet must be true or false \(got "yes"\)/],
      ['a number is "ten"', { 'ses-bouncer:retentionDays': 'ten' }, /ses-bouncer:retentionDays must be a whole number \(got "ten"\)/],
      ['invocationType is unknown', { 'ses-bouncer:invocationType': 'event' }, /invocationType must be one of Event, RequestResponse \(got "event"\)/],
      ['tlsPolicy is unknown', { 'ses-bouncer:tlsPolicy': 'always' }, /tlsPolicy must be one of optional, require \(got "always"\)/],
      ['a key is misspelt', { 'ses-bouncer:recipient': ['x.com'] }, /unknown context key "ses-bouncer:recipient"/],
    ])('throws a ConfigError naming the key when %s', (_case, context, message) => {
      const merged = { ...REQUIRED, ...context };
      expect(() => read(merged)).toThrow(ConfigError);
      expect(() => read(merged)).toThrow(message);
    });
  });
});
