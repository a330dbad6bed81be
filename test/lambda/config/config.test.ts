import { ConfigError } from '../../../lambda/commons/errors';
import { loadConfig } from '../../../lambda/config/config';

const minimal = {
  BOUNCE_SENDER: 'mailer-daemon@example.com',
  REPORTING_MTA: 'mx.example.com',
  RULES_TABLE: 'rules',
  STATE_TABLE: 'state',
  BOUNCE_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs',
  MAIL_BUCKET: 'mail-bucket',
};

describe('config', () => {
  describe('loadConfig', () => {
    it('applies the documented defaults to a minimal environment', () => {
      const config = loadConfig(minimal);
      expect(config).toMatchObject({
        mailPrefix: '',
        rulesCacheMs: 60000,
        senderAuthPolicy: 'spf-pass',
        senderBudgetPerAddress: 5,
        senderBudgetPerDomain: 50,
        senderBudgetWindowMs: 3600000,
        defaultAction: 'deliver',
        auditTtlDays: 30,
        rateGateKey: 'ses-sendbounce',
        rateGateIntervalMs: 1000,
        logAddresses: false,
        tracing: false,
        shadowMode: false,
      });
      expect(config.endpoints).toEqual({});
    });

    it('turns tracing on only for TRACING=true and refuses other values', () => {
      expect(loadConfig({ ...minimal, TRACING: 'true' }).tracing).toBe(true);
      expect(loadConfig({ ...minimal, TRACING: 'false' }).tracing).toBe(false);
      expect(() => loadConfig({ ...minimal, TRACING: 'yes' })).toThrow(/TRACING .*\(got "yes"\)/);
    });

    it('turns stack-wide shadow mode on only for SHADOW_MODE=true and refuses other values', () => {
      expect(loadConfig({ ...minimal, SHADOW_MODE: 'true' }).shadowMode).toBe(true);
      expect(() => loadConfig({ ...minimal, SHADOW_MODE: 'on' })).toThrow(/SHADOW_MODE .*\(got "on"\)/);
    });

    it('names every missing required setting', () => {
      expect(() => loadConfig({})).toThrow(ConfigError);
      expect(() => loadConfig({})).toThrow(/BOUNCE_SENDER is required.*REPORTING_MTA is required/);
    });

    it('names the bad setting and quotes its value', () => {
      expect(() => loadConfig({ ...minimal, RULES_CACHE_SECONDS: 'soon' })).toThrow(
        /RULES_CACHE_SECONDS must be a whole number \(got "soon"\)/,
      );
      expect(() => loadConfig({ ...minimal, REPORTING_MTA: 'dns; mx.example.com' })).toThrow(/REPORTING_MTA must be a host name/);
      expect(() => loadConfig({ ...minimal, RATE_GATE_INTERVAL_MS: '500' })).toThrow(/RATE_GATE_INTERVAL_MS/);
    });

    it('treats an empty string as unset', () => {
      expect(loadConfig({ ...minimal, MAIL_PREFIX: '', BOUNCE_SENDER_ARN: '' }).bounceSenderArn).toBeUndefined();
    });

    it('refuses a default action other than deliver', () => {
      expect(() => loadConfig({ ...minimal, DEFAULT_ACTION: 'bounce' })).toThrow(/DEFAULT_ACTION/);
    });
  });
});
