/**
 * The repository's structure rules (scripts/structure.mjs): no import cycle between source files,
 * no source file over 450 lines except the listed ones, which may only shrink.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importCycles, importGraph, oversizeFiles } from '../../../scripts/structure.mjs';

type Graph = Map<string, Set<string>>;

test('no import cycle between source files', () => {
  assert.deepEqual(importCycles(), []);
});

test('the cycle check finds a cycle when there is one', () => {
  const graph: Graph = new Map([
    ['/r/a.ts', new Set(['/r/b.ts'])],
    ['/r/b.ts', new Set(['/r/c.ts'])],
    ['/r/c.ts', new Set(['/r/a.ts'])],
    ['/r/d.ts', new Set(['/r/a.ts'])],
  ]);
  const cycles = importCycles(graph);
  assert.equal(cycles.length, 1);
  assert.equal(cycles[0]!.length, 3);
});

test('the import graph sees relative and workspace imports', () => {
  const graph = importGraph();
  const edges = [...graph.entries()].find(([file]) => file.endsWith('packages/bots/src/MeshLink.ts'))?.[1];
  assert.ok(edges, 'MeshLink.ts is a source file');
  const targets = [...edges].map((t) => t.replace(/.*\/packages\//, 'packages/'));
  assert.ok(targets.includes('packages/rtc/src/MediaTrack.ts'), `workspace import resolved: ${targets.join(', ')}`);
  assert.ok(targets.includes('packages/bots/src/media/Playout.ts'), 'relative import resolved');
});

test('no source file over 450 lines (listed exceptions may only shrink)', () => {
  assert.deepEqual(oversizeFiles(), []);
});
