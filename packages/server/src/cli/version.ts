import { readFileSync } from 'node:fs';

/** The server package's version (src/cli and dist/cli both sit two levels below package.json). */
export function parleyVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string' ? pkg.version : 'unknown';
}
