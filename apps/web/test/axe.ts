/**
 * axe-core in a Playwright page: the WCAG 2.1 A and AA rules, and a readable account of what
 * they found, for the accessibility ratchet (accessibility.e2e.test.ts).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Result } from 'axe-core';
import type { Page } from 'playwright-core';

declare global {
  interface Window {
    axe?: typeof import('axe-core');
  }
}

/** The axe tags of WCAG 2.0 and 2.1, levels A and AA. */
export const WCAG21_AA_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

let axeSource: string | undefined;

/**
 * Runs axe on the page as it is now and returns its violations of `tags`. axe is evaluated
 * through the DevTools protocol, so the page's Content-Security-Policy does not block it.
 */
export async function axeViolations(page: Page, tags: string[] = WCAG21_AA_TAGS): Promise<Result[]> {
  axeSource ??= readFileSync(fileURLToPath(import.meta.resolve('axe-core/axe.min.js')), 'utf8');
  if (!(await page.evaluate(() => window.axe !== undefined))) await page.evaluate(axeSource);
  return page.evaluate(async (values) => {
    const results = await window.axe!.run(document, { runOnly: { type: 'tag', values }, resultTypes: ['violations'] });
    return results.violations;
  }, tags);
}

/** One line per violation and one per offending element, for an assertion message. */
export function describeViolations(violations: Result[]): string {
  return violations
    .map((v) =>
      [
        `${v.id} (${v.impact ?? 'n/a'}): ${v.help}`,
        ...v.nodes.map((n) => `  ${n.target.join(' ')}: ${(n.failureSummary ?? '').replace(/\s+/g, ' ')}`),
      ].join('\n'),
    )
    .join('\n');
}
