import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '@parley-rtc/test-support/poll';
import { CoalescingThrottle } from '../src/util/CoalescingThrottle.ts';

test('the first request runs at once; requests inside the interval become one run at its end', async () => {
  let runs = 0;
  const throttle = new CoalescingThrottle(() => runs++, 100);
  throttle.request();
  assert.equal(runs, 1, 'the first request runs synchronously');
  throttle.request();
  throttle.request();
  throttle.request();
  assert.equal(runs, 1, 'requests inside the interval do not run at once');
  assert.equal(throttle.pending, true, 'but one run is scheduled');
  await waitFor(() => runs === 2, 5000, 'the coalesced run');
  assert.equal(throttle.pending, false);
  // the coalesced run started a new interval: a request now is scheduled again, not lost
  throttle.request();
  assert.equal(throttle.pending, true);
  await waitFor(() => runs === 3, 5000, 'the next coalesced run');
  throttle.close();
});

test('close drops a scheduled run and ignores later requests', () => {
  let runs = 0;
  const throttle = new CoalescingThrottle(() => runs++, 50);
  throttle.request();
  throttle.request();
  assert.equal(throttle.pending, true);
  throttle.close();
  throttle.close();
  assert.equal(throttle.pending, false, 'the scheduled run is dropped');
  const fresh = new CoalescingThrottle(() => runs++, 50);
  fresh.close();
  fresh.request();
  assert.equal(runs, 1, 'a closed throttle never runs, even when a request would run at once');
  assert.equal(fresh.pending, false);
});

test('cancel drops a scheduled run and says whether there was one; the interval still holds', () => {
  let runs = 0;
  const throttle = new CoalescingThrottle(() => runs++, 60_000);
  assert.equal(throttle.cancel(), false, 'nothing scheduled yet');
  throttle.request();
  throttle.request();
  assert.equal(throttle.cancel(), true);
  assert.equal(throttle.pending, false);
  assert.equal(runs, 1);
  throttle.request();
  assert.equal(runs, 1, 'still inside the interval of the first run: scheduled, not run');
  assert.equal(throttle.pending, true);
  throttle.close();
});
