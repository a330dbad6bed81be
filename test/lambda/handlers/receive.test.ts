const ENV = {
  BOUNCE_SENDER: 'mailer-daemon@example.com',
  REPORTING_MTA: 'mx.example.com',
  RULES_TABLE: 'rules-table',
  STATE_TABLE: 'state-table',
  BOUNCE_QUEUE_URL: 'http://127.0.0.1:1/queue/bounces',
  MAIL_BUCKET: 'mail-bucket',
  MAIL_PREFIX: 'inbound/',
};

// The handler's behaviour is specified through createReceiveHandler (test/lambda/app/receive-wiring.test.ts);
// here: the module builds everything once at load and fails fast on bad config.
describe('receive', () => {
  describe('handler', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });

    it('builds its handler at load when the environment is valid', () => {
      Object.assign(process.env, ENV);
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the module is the test
        const mod = require('../../../lambda/handlers/receive') as { handler: unknown };
        expect(typeof mod.handler).toBe('function');
      });
    });

    it('stops the cold start naming the setting when the environment is invalid', () => {
      Object.assign(process.env, ENV, { MAIL_BUCKET: '' });
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the module is the test
        expect(() => require('../../../lambda/handlers/receive')).toThrow('MAIL_BUCKET is required');
      });
    });
  });
});
