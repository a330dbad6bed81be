/**
 * One jest run starts one DynamoDB Local (globalSetup) and stops it by pid
 * (globalTeardown), whatever the tests do. Tests reach it through
 * `test/support/dynamodb.ts`, which reads the endpoint the setup published.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  maxWorkers: 2,
  // Suites that measure real-time SendBounce spacing run last (see the file).
  testSequencer: '<rootDir>/test/support/sequencer.js',
  testTimeout: 30000,
};
