/**
 * Polls `check` until it returns true or `timeoutMs` passes (tests wait for conditions with a
 * deadline, never with fixed sleeps). The check may be async: Playwright's page.waitForFunction
 * does not await a predicate that returns a Promise, so anything built on getStats() polls from
 * the test side. Polls every 10 ms at first and backs off to every 250 ms, so quick in-process
 * conditions are seen at once and slow page evaluations are not hammered. On timeout the error
 * names `what`, followed by `describe()`'s account of the state when one is given.
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
  describe?: () => string | Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let intervalMs = 10;
  while (!(await check())) {
    if (Date.now() > deadline) {
      const detail = describe
        ? `: ${await Promise.resolve()
            .then(describe)
            .catch((e: unknown) => String(e))}`
        : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    intervalMs = Math.min(250, intervalMs * 2);
  }
}
