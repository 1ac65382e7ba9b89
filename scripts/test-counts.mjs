// A node:test reporter for scripts/test.mjs: appends one line per finished test ("pass", "fail",
// "skip" or "todo", a tab, its name) to $PARLEY_TEST_COUNTS, synchronously, so that a file which
// ends its own process (to get past a native library that keeps it alive) loses no result.
// Suites are not counted; their failures show up as their tests' failures.
import { appendFileSync } from 'node:fs';

// eslint-disable-next-line require-yield -- a node:test reporter is a generator; this one only writes the file
export default async function* counts(source) {
  const out = process.env.PARLEY_TEST_COUNTS;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    const kind =
      event.type === 'test:fail' ? 'fail' : event.data.skip !== undefined ? 'skip' : event.data.todo !== undefined ? 'todo' : 'pass';
    if (out) appendFileSync(out, `${kind}\t${String(event.data.name).replace(/\s+/g, ' ')}\n`);
  }
}
