#!/usr/bin/env node
// Runs the test ladder with node's built-in test runner (TypeScript through tsx), one file after
// another, each in its own process:
//   node scripts/test.mjs                      every tier: unit, integration, e2e
//   node scripts/test.mjs unit integration     only those tiers
//   node scripts/test.mjs e2e --test-name-pattern=SFU   flags go to every file's process
// Tiers by file name: *.e2e.test.ts (headless Chromium), *.int.test.ts (real servers/peers),
// the rest of *.test.ts are unit tests.
//
// Why not `node --test` over all files: its --test-timeout caps each test *and* each whole file,
// so a file of two slow tests was cancelled although neither test was slow. Here a file has no
// per-test cap but a generous wall-clock guard of its own (PARLEY_TEST_FILE_TIMEOUT_S, default 900 s)
// that only a hung file reaches. Results are counted by scripts/test-counts.mjs (a reporter that
// appends each result synchronously, so a file that ends itself with process.exit loses none).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tiers = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const extra = process.argv.slice(2).filter((a) => a.startsWith('-'));
const wanted = new Set(tiers.length ? tiers : ['unit', 'integration', 'e2e']);
const fileTimeoutMs = Number(process.env['PARLEY_TEST_FILE_TIMEOUT_S'] ?? 900) * 1000;
const ORDER = ['unit', 'integration', 'e2e'];
// Workspace packages resolve to their TypeScript sources (the `@parley-rtc/source` export
// condition), in the test processes and every process they spawn.
const nodeOptions = `${process.env['NODE_OPTIONS'] ?? ''} --conditions=@parley-rtc/source`.trim();

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

const tierOf = (f) => (f.endsWith('.e2e.test.ts') ? 'e2e' : f.endsWith('.int.test.ts') ? 'integration' : 'unit');
const files = ['packages', 'apps']
  .flatMap((d) => walk(join(root, d), []))
  .filter((f) => wanted.has(tierOf(f)))
  .sort((a, b) => ORDER.indexOf(tierOf(a)) - ORDER.indexOf(tierOf(b)) || a.localeCompare(b));

if (files.length === 0) {
  console.error(`no test files for tiers: ${[...wanted].join(', ')}`);
  process.exit(1);
}

const scratch = mkdtempSync(join(tmpdir(), 'parley-test-run-'));
const totals = { tests: 0, pass: 0, fail: 0, skipped: 0, todo: 0 };
const failures = [];
const started = Date.now();

/** Runs one file; resolves with its exit code (or the signal that ended it) and whether the guard fired. */
function runFile(file, countsPath) {
  return new Promise((resolve) => {
    const args = [
      '--import',
      'tsx',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${join(root, 'scripts/test-counts.mjs')}`,
      '--test-reporter-destination=stderr',
      ...extra,
      file,
    ];
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: 'inherit',
      detached: true,
      env: { ...process.env, NODE_OPTIONS: nodeOptions, PARLEY_TEST_COUNTS: countsPath },
    });
    let timedOut = false;
    const guard = setTimeout(() => {
      timedOut = true;
      console.error(`\n${file}: still running after ${fileTimeoutMs / 1000} s; ending it`);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, fileTimeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, timedOut });
    });
  });
}

for (const [i, file] of files.entries()) {
  const countsPath = join(scratch, `${i}.counts`);
  const t0 = Date.now();
  console.log(`\n▶ ${file} [${tierOf(file)}] (${i + 1}/${files.length})`);
  const { code, signal, timedOut } = await runFile(file, countsPath);
  let lines = [];
  try {
    lines = readFileSync(countsPath, 'utf8').split('\n').filter(Boolean);
  } catch {
    // the file reported nothing (it crashed before its first test)
  }
  const counts = { pass: 0, fail: 0, skip: 0, todo: 0 };
  for (const line of lines) {
    const [kind, ...name] = line.split('\t');
    counts[kind] = (counts[kind] ?? 0) + 1;
    if (kind === 'fail') failures.push(`${file}: ${name.join('\t')}`);
  }
  // A file that failed without a failing test (a crash, a hook, the guard) still fails.
  if ((code !== 0 || timedOut) && counts.fail === 0) {
    counts.fail = 1;
    failures.push(`${file}: the file ${timedOut ? 'was still running at the guard' : `exited with ${signal ?? `code ${code}`}`}`);
  }
  totals.tests += counts.pass + counts.fail + counts.skip + counts.todo;
  totals.pass += counts.pass;
  totals.fail += counts.fail;
  totals.skipped += counts.skip;
  totals.todo += counts.todo;
  console.log(
    `◀ ${file}: ${counts.pass} passed, ${counts.fail} failed, ${counts.skip} skipped in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
}
rmSync(scratch, { recursive: true, force: true });

if (failures.length) console.log(`\nfailed:\n${failures.map((f) => `  ✖ ${f}`).join('\n')}`);
console.log(`\nℹ tests ${totals.tests}`);
console.log(`ℹ pass ${totals.pass}`);
console.log(`ℹ fail ${totals.fail}`);
console.log(`ℹ cancelled 0`);
console.log(`ℹ skipped ${totals.skipped}`);
console.log(`ℹ todo ${totals.todo}`);
console.log(`ℹ duration_ms ${Date.now() - started}`);
console.log(`${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
process.exit(totals.fail > 0 ? 1 : 0);
