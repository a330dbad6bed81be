const env = {
  BOUNCE_SENDER: 'mailer-daemon@example.com',
  REPORTING_MTA: 'mx.example.com',
  RULES_TABLE: 'rules',
  STATE_TABLE: 'state',
  BOUNCE_QUEUE_URL: 'http://127.0.0.1:1/queue',
  MAIL_BUCKET: 'mail',
};

function loadHandler(vars: Record<string, string>): unknown {
  const saved = { ...process.env };
  Object.assign(process.env, vars);
  try {
    let mod: unknown;
    jest.isolateModules(() => {
      mod = require('../../../lambda/handlers/send');
    });
    return mod;
  } finally {
    process.env = saved;
  }
}

describe('send (handler)', () => {
  describe('module scope', () => {
    it('exports a handler when the configuration is valid', () => {
      expect(typeof (loadHandler(env) as { handler: unknown }).handler).toBe('function');
    });

    it('stops the cold start naming the setting when the configuration is invalid', () => {
      // The module is loaded in isolation, so its ConfigError class is a fresh copy: compare names.
      let error: unknown;
      try {
        loadHandler({ ...env, REPORTING_MTA: 'not a host' });
      } catch (e) {
        error = e;
      }
      expect((error as Error).name).toBe('ConfigError');
      expect((error as Error).message).toMatch(/REPORTING_MTA .*"not a host"/);
    });
  });
});
