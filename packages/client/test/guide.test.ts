/**
 * docs/client.md shows examples/minimal verbatim: each code block whose info string names a file
 * (```js file=examples/minimal/main.js) must equal that file, and every file of the example is
 * shown. The example itself runs in ownApp.e2e.test.ts, so the guide shows code that works.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const GUIDE = 'docs/client.md';
const EXAMPLE = 'examples/minimal';

/** The guide's fenced code blocks that name a file, as [file, content] pairs. */
function fileBlocks(markdown: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const fence = /^```[\w-]*[^\n]*?\bfile=(\S+)[^\n]*\n([\s\S]*?)^```[ \t]*$/gm;
  for (let m = fence.exec(markdown); m; m = fence.exec(markdown)) out.push([m[1]!, m[2]!]);
  return out;
}

describe(`${GUIDE} and ${EXAMPLE}`, () => {
  const blocks = fileBlocks(readFileSync(join(root, GUIDE), 'utf8'));

  it('shows each file of the example in a code block that names it', () => {
    const files = readdirSync(join(root, EXAMPLE)).filter(
      (f) => f !== 'README.md' && f !== 'node_modules' && f !== 'dist' && !f.startsWith('.'),
    );
    assert.ok(files.includes('main.js') && files.includes('index.html'), files.join(', '));
    const shown = new Set(blocks.map(([file]) => file));
    assert.deepEqual(
      files.map((f) => `${EXAMPLE}/${f}`).filter((f) => !shown.has(f)),
      [],
      `files of ${EXAMPLE} the guide does not show`,
    );
  });

  it('shows them verbatim', () => {
    assert.ok(blocks.length > 0);
    for (const [file, content] of blocks) {
      assert.equal(content, readFileSync(join(root, file), 'utf8'), `${GUIDE}: the block for ${file} differs from the file`);
    }
  });
});
