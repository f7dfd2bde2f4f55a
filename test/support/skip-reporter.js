// Jest prints nothing of a suite whose tests are all skipped but "N skipped" in its summary, so a
// tier that could not run would go unnoticed. Suites that skip for a missing program register one
// test titled "skipped: <what is missing and how to get it>"; this reporter prints each such line.
class SkipReporter {
  constructor() {
    this.lines = [];
  }

  onTestResult(_test, result) {
    for (const t of result.testResults) {
      if (t.status === 'pending' && t.title.startsWith('skipped: ')) {
        this.lines.push(`${t.ancestorTitles.join(' > ')}: ${t.title}`);
      }
    }
  }

  onRunComplete() {
    if (this.lines.length === 0) return;
    process.stderr.write(`\nTiers skipped (${this.lines.length}):\n${this.lines.map((l) => `  SKIP ${l}\n`).join('')}`);
  }
}

module.exports = SkipReporter;
