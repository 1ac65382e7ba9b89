/** Keyboard-only navigation for the browser tests: Tab through a page and see what gets focus. */
import type { Page } from 'playwright-core';

export interface TabStop {
  /** The focused element's data-testid, when it has one. */
  testId: string | null;
  tag: string;
  /** Whether the focus is drawn: the element matches :focus-visible and has an outline or a ring. */
  focusVisible: boolean;
}

/** The data-testid of the focused element (null when it has none or nothing is focused). */
export function focusedControl(page: Page): Promise<string | null> {
  return page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? null);
}

async function currentStop(page: Page): Promise<TabStop> {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { testId: null, tag: 'body', focusVisible: false };
    const style = getComputedStyle(el);
    const drawn = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
    return { testId: el.getAttribute('data-testid'), tag: el.tagName.toLowerCase(), focusVisible: el.matches(':focus-visible') && drawn };
  });
}

/**
 * Presses Tab from the page's current focus through every focusable element once (until the
 * focus comes back to where it started, at most `limit` presses) and reports each stop.
 */
export async function tabCycle(page: Page, limit = 60): Promise<TabStop[]> {
  const stops: TabStop[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const stop = await currentStop(page);
    const key = `${stop.testId}|${stop.tag}|${i}`;
    if (stop.testId && seen.has(stop.testId)) break;
    if (stop.testId) seen.add(stop.testId);
    else seen.add(key);
    stops.push(stop);
  }
  return stops;
}

/** Presses Tab until the element with `testId` has the focus (at most `limit` presses). */
export async function tabTo(page: Page, testId: string, limit = 60): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if ((await focusedControl(page)) === testId) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`${testId} never got the focus in ${limit} presses of Tab`);
}
