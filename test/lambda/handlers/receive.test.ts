import { RECEIVE_ENV as ENV } from '../../support/env';

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
