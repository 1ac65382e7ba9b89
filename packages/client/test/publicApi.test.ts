/**
 * docs/client-api.md documents every public export of @parley-rtc/client, and nothing else: each
 * export has a `### \`Name\`` section; in it, every public member of a class, every property of
 * an option or data type, and every value of a string union appears in a code span; and every
 * table row that names a member (a first cell in backticks) names one that exists. The exports
 * are read from packages/client/src/index.ts with the TypeScript compiler (what `tsc` would put
 * in dist/index.d.ts: members marked @internal, private or protected do not count).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const DOCS = 'docs/client-api.md';

interface ApiExport {
  name: string;
  /** Members (or union values) the section must mention. */
  required: string[];
  /** Everything a table row in the section may name (required plus inherited members). */
  known: Set<string>;
}

const isInternal = (d: ts.Declaration) => ts.getJSDocTags(d).some((t) => t.tagName.text === 'internal');
const isHidden = (d: ts.Declaration) => (ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0;

function isPublic(p: ts.Symbol): boolean {
  if (p.name.startsWith('#') || p.name.startsWith('__')) return false;
  const decls = p.declarations ?? [];
  return !decls.some((d) => isInternal(d) || isHidden(d));
}

/** The public exports of the package's entry point, with what each section must cover. */
function publicExports(): ApiExport[] {
  const entry = join(root, 'packages/client/src/index.ts');
  const program = ts.createProgram([entry], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    customConditions: ['@parley-rtc/source'],
    allowImportingTsExtensions: true,
    noEmit: true,
    strict: true,
    skipLibCheck: true,
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
    types: [],
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  assert.ok(moduleSymbol, `cannot read ${entry}`);

  return checker.getExportsOfModule(moduleSymbol).map((exported) => {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const decl = symbol.declarations?.[0];
    const item = (required: string[], known: string[] = required) => ({ name: exported.name, required, known: new Set(known) });
    if (symbol.flags & ts.SymbolFlags.Class) {
      const statics = checker.getPropertiesOfType(checker.getTypeOfSymbol(symbol)).filter((p) => p.name !== 'prototype');
      const all = [...checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol)), ...statics].filter(isPublic);
      const own = all.filter((p) => p.declarations?.some((d) => d.parent === decl || (ts.isParameter(d) && d.parent.parent === decl)));
      return item(
        own.map((p) => p.name),
        all.map((p) => p.name),
      );
    }
    if (symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)) {
      const type = checker.getDeclaredTypeOfSymbol(symbol);
      if (type.isUnion() && type.types.every((t) => t.isStringLiteral())) {
        return item(type.types.map((t) => t.value));
      }
      if (!type.isUnion() && type.flags & ts.TypeFlags.Object)
        return item(
          checker
            .getPropertiesOfType(type)
            .filter(isPublic)
            .map((p) => p.name),
        );
    }
    return item([]);
  });
}

/** The docs page cut into sections by `### \`Name\`` headings. */
function docSections(): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of readFileSync(join(root, DOCS), 'utf8').split('\n')) {
    const heading = /^### `([^`]+)`\s*$/.exec(line);
    if (heading) {
      assert.ok(!sections.has(heading[1]!), `${DOCS} has two sections for ${heading[1]}`);
      current = [];
      sections.set(heading[1]!, current);
    } else if (/^#{1,3} /.test(line)) {
      current = undefined;
    } else {
      current?.push(line);
    }
  }
  return sections;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether a code span in `text` starts with `name` (optionally as `Owner.name` or `'name'`). */
function mentions(text: string, name: string): boolean {
  return new RegExp(`\`(?:[A-Za-z]\\w*\\.)?'?${escape(name)}(?![\\w$-])`).test(text);
}

/** What the first cell of a table row names: `connect(url, options)` → connect; `'timeout'` → timeout. */
function rowName(line: string, owner: string): string | undefined {
  const cell = /^\|\s*`([^`]+)`/.exec(line)?.[1];
  if (cell === undefined || cell.startsWith('new ')) return undefined;
  const bare = cell
    .replace(/^static /, '')
    .replace(new RegExp(`^${escape(owner)}\\.`), '')
    .replace(/^'/, '');
  return /^[\w$-]+/.exec(bare)?.[0];
}

describe(`the public API and ${DOCS}`, () => {
  const api = publicExports();
  const sections = docSections();

  it('reads a plausible export list', () => {
    const names = api.map((e) => e.name);
    for (const name of ['Room', 'LocalMedia', 'ClientError', 'ParleyError', 'RoomEvents', 'uploadFile'])
      assert.ok(names.includes(name), name);
    for (const name of ['SignalClient', 'PeerLink', 'SfuTransport', 'summarizeStats'])
      assert.ok(!names.includes(name), `${name} is internal`);
    const room = api.find((e) => e.name === 'Room');
    assert.ok(room?.required.includes('connect') && !room.required.includes('on'), JSON.stringify(room?.required));
  });

  it('documents every export', () => {
    const missing = api.map((e) => e.name).filter((name) => !sections.has(name));
    assert.deepEqual(missing, [], `exports without a ### \`Name\` section in ${DOCS}`);
  });

  it('documents nothing that is not exported', () => {
    const names = new Set(api.map((e) => e.name));
    assert.deepEqual(
      [...sections.keys()].filter((name) => !names.has(name)),
      [],
      `sections in ${DOCS} for names index.ts does not export`,
    );
  });

  it("mentions every public member, property and union value in its export's section", () => {
    const missing = api.flatMap((e) => {
      const text = (sections.get(e.name) ?? []).join('\n');
      return e.required.filter((m) => !mentions(text, m)).map((m) => `${e.name}.${m}`);
    });
    assert.deepEqual(missing, []);
  });

  it('names only members that exist in its tables', () => {
    const unknown = api.flatMap((e) => {
      if (e.known.size === 0) return [];
      return (sections.get(e.name) ?? [])
        .map((line) => rowName(line, e.name))
        .filter((m): m is string => m !== undefined && !e.known.has(m))
        .map((m) => `${e.name}.${m}`);
    });
    assert.deepEqual(unknown, []);
  });
});
