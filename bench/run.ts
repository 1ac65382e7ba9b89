// `npm run bench`: every benchmark part in sequence (each prints its own figures and anchors).
// Parts register themselves in bench/parts.ts; run one with `npm run bench -- signaling`.
import { PARTS } from './parts.ts';

const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const selected = only.length ? PARTS.filter((p) => only.includes(p.name)) : PARTS;
if (selected.length === 0) {
  console.error(`no such part; known: ${PARTS.map((p) => p.name).join(', ')}`);
  process.exit(2);
}
console.log(`# Parley benchmarks (${new Date().toISOString()}, Node ${process.version}, ${(await import('node:os')).cpus().length} cores)`);
for (const part of selected) await part.run();
