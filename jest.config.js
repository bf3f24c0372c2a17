/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The examples import the package by name; tests run them against these sources.
  moduleNameMapper: { '^keras-torch$': '<rootDir>/lib' },
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
  // Native work and training are slower than unit tests usually are.
  testTimeout: 120000,
};
