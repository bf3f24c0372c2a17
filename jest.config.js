/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The examples import the package by name; tests run them against these sources.
  moduleNameMapper: { '^keras-torch$': '<rootDir>/lib' },
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
  // Builds dist/ once for the tests that run the package in child processes; checks the peers in CI.
  globalSetup: '<rootDir>/test/global-setup.js',
  // Native work and training are slower than unit tests usually are.
  testTimeout: 120000,
};
