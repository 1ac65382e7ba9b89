// Types for structure.mjs, which packages/protocol/test/structure.test.ts imports.
/** The repository root. */
export const ROOT: string;
export const MAX_LINES: number;
/** Files over the limit when the rule was introduced, and their line counts then. */
export const OVERSIZE: Record<string, number>;
/** Every source file (not tests) of the workspaces, as absolute paths. */
export function sourceFiles(): string[];
/** Import edges between source files (absolute paths). */
export function importGraph(files?: string[]): Map<string, Set<string>>;
/** Strongly connected components with more than one file, as lists of repo-relative paths. */
export function importCycles(graph?: Map<string, Set<string>>): string[][];
/** Files over the limit that are not allowed, or that grew past their allowance. */
export function oversizeFiles(files?: string[]): Array<{ file: string; lines: number; allowed: number }>;
