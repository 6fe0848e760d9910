/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
  testMatch: ["<rootDir>/test/**/*.test.ts"],
  setupFiles: ["<rootDir>/test/setup-env.ts"],
  testTimeout: 60000,
  // e2e suites spawn processes on fixed ports: run suites one at a time.
  maxWorkers: 1,
  reporters: ["default", "<rootDir>/test/support/summary-reporter.js"],
};
