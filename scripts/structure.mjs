// The repository's structure rules, checked from the source text (no build needed):
//  - no import cycle between source files (relative imports and @parley-rtc/* workspace imports);
//  - no source file over 450 lines, except the ones listed in OVERSIZE with the size they had
//    when the rule came in: they may shrink (then lower or remove the entry), never grow.
// Used by packages/protocol/test/structure.test.ts; `node scripts/structure.mjs` prints the findings.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const MAX_LINES = 450;
/** Files over the limit when the rule was introduced, and their line counts then. */
export const OVERSIZE = {
  'packages/client/src/Room.ts': 596,
  // 414 lines until Prettier (width 140) wrapped its long calls; split it rather than let it grow.
  'packages/server/src/sfu/Router.ts': 488,
};

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (/\.(ts|tsx)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Every source file (not tests) of the workspaces. */
export function sourceFiles() {
  const dirs = [];
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(ROOT, group))) {
      const src = join(ROOT, group, name, 'src');
      if (existsSync(src)) dirs.push(src);
    }
  }
  return dirs.flatMap((d) => walk(d, []));
}

/** Workspace package name → its directory (for `@parley-rtc/x/sub/path` imports). */
function workspaces() {
  const map = new Map();
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(ROOT, group))) {
      const pkg = join(ROOT, group, name, 'package.json');
      if (existsSync(pkg)) map.set(JSON.parse(readFileSync(pkg, 'utf8')).name, join(ROOT, group, name));
    }
  }
  return map;
}

function resolveImport(from, spec, pkgs) {
  let target;
  if (spec.startsWith('.')) target = resolve(dirname(from), spec);
  else {
    const m = /^(@parley-rtc\/[^/]+)(?:\/(.*))?$/.exec(spec);
    if (!m || !pkgs.has(m[1])) return undefined;
    target = m[2] ? join(pkgs.get(m[1]), 'src', m[2]) : join(pkgs.get(m[1]), 'src', 'index.ts');
  }
  for (const candidate of [target, `${target}.ts`, `${target}.tsx`, join(target, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** Import edges between source files; `import type` counts too (it still couples the files). */
export function importGraph(files = sourceFiles()) {
  const pkgs = workspaces();
  const set = new Set(files);
  const graph = new Map();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const edges = new Set();
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const target = resolveImport(file, m[1] ?? m[2], pkgs);
      if (target && set.has(target) && target !== file) edges.add(target);
    }
    graph.set(file, edges);
  }
  return graph;
}

/** Strongly connected components with more than one file (Tarjan), as lists of repo-relative paths. */
export function importCycles(graph = importGraph()) {
  let index = 0;
  const stack = [];
  const on = new Set();
  const idx = new Map();
  const low = new Map();
  const out = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        scc.push(relative(ROOT, w));
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** Files over the limit that are not allowed, or that grew past their allowance. */
export function oversizeFiles(files = sourceFiles()) {
  const out = [];
  for (const file of files) {
    const rel = relative(ROOT, file);
    const lines = readFileSync(file, 'utf8').split('\n').length - 1;
    const allowed = OVERSIZE[rel] ?? MAX_LINES;
    if (lines > allowed) out.push({ file: rel, lines, allowed });
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const cycles = importCycles();
  const big = oversizeFiles();
  for (const c of cycles) console.log(`import cycle: ${c.join(' ⇄ ')}`);
  for (const b of big) console.log(`${b.file}: ${b.lines} lines (at most ${b.allowed})`);
  if (cycles.length === 0 && big.length === 0) console.log('structure: no import cycle, no file over its limit');
  process.exit(cycles.length || big.length ? 1 : 0);
}
