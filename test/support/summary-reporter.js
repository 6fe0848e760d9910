// Ends a jest run with one plain line, "N passed, N failed, N skipped", that CI reads, and says
// once why the end-to-end suites were skipped when they were.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests: p, numFailedTests: f, numPendingTests: s, numTodoTests: t } = results;
    if (process.env.TEST_INFRA !== "1" && results.numPendingTestSuites > 0)
      process.stdout.write(
        "\ne2e suites skipped: they need the real services; run `npm run infra:up` then `TEST_INFRA=1 npm test`\n",
      );
    process.stdout.write(`\n${p} passed, ${f} failed, ${s + t} skipped\n`);
  }
}
module.exports = SummaryReporter;
