// Prints vitest's JSON reports (and reports in their shape, such as the crash test's) as one plain closing line: "N passed, N failed, N skipped".
import { existsSync, readFileSync } from "node:fs";

const files = process.argv.slice(2);
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
