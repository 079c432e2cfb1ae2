// Prints vitest's JSON reports (and reports in their shape, such as the crash test's) as one plain closing line: "N passed, N failed, N skipped".
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const USAGE = `Usage: node scripts/test-summary.mjs [report.json …]

Adds up vitest JSON reports (and reports in their shape, such as \`npm run test:crash -- --json\`'s)
into one line: "tests: N passed, N failed, N skipped". A report file that is missing counts as one
failed test. Default report: test-results/vitest.json. Exits 0 whatever the counts.

  -h, --help   this text

Example: node scripts/test-summary.mjs test-results/vitest.json test-results/crash-test.json`;

let files;
try {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { help: { type: "boolean", short: "h" } } });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  files = positionals;
} catch (error) {
  console.error(`test-summary.mjs: ${error.message} (see --help)`);
  process.exit(2);
}
let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of files.length > 0 ? files : ["test-results/vitest.json"]) {
  if (!existsSync(file)) {
    failed += 1; // a run that wrote no report did not pass
    continue;
  }
  const report = JSON.parse(readFileSync(file, "utf8"));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
