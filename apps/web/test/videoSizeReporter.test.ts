import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { differsEnough, VideoSizeReporter, type ReporterTimers, type VideoSize } from '../src/call/VideoSizeReporter.ts';

/** Timers that fire only when the test says so. */
function manualTimers() {
  let next = 0;
  const pending = new Map<number, () => void>();
  const timers: ReporterTimers = {
    setTimeout: (fn) => {
      pending.set(++next, fn);
      return next;
    },
    clearTimeout: (h) => void pending.delete(h as number),
  };
  const fire = () => {
    const fns = [...pending.values()];
    pending.clear();
    for (const fn of fns) fn();
  };
  return { timers, fire, pending };
}

describe('VideoSizeReporter', () => {
  it('reports the first size at once, in device pixels', () => {
    const sent: VideoSize[] = [];
    const r = new VideoSizeReporter((s) => sent.push(s), { timers: manualTimers().timers });
    r.observe(320.4, 180.2, 2);
    assert.deepEqual(sent, [{ width: 641, height: 360 }]);
  });

  it('reports later sizes once they settle, and only changes above the threshold', () => {
    const sent: VideoSize[] = [];
    const t = manualTimers();
    const r = new VideoSizeReporter((s) => sent.push(s), { timers: t.timers });
    r.observe(400, 300, 1);
    r.observe(420, 310, 1); // +5 %: not worth a report
    t.fire();
    assert.equal(sent.length, 1);
    // A drag through several sizes: only where it stopped is reported.
    r.observe(500, 375, 1);
    r.observe(600, 450, 1);
    r.observe(800, 600, 1);
    assert.equal(t.pending.size, 1, 'one pending report');
    t.fire();
    assert.deepEqual(sent.at(-1), { width: 800, height: 600 });
    assert.equal(sent.length, 2);
    // Compared with the last report, not the last observation: small steps add up.
    r.observe(850, 640, 1);
    t.fire();
    r.observe(900, 680, 1);
    t.fire();
    assert.deepEqual(sent.at(-1), { width: 900, height: 680 });
  });

  it('ignores zero sizes (hidden tiles) and drops the pending report on stop()', () => {
    const sent: VideoSize[] = [];
    const t = manualTimers();
    const r = new VideoSizeReporter((s) => sent.push(s), { timers: t.timers });
    r.observe(0, 0, 1);
    assert.equal(sent.length, 0);
    r.observe(100, 100, 1);
    r.observe(0, 0, 1);
    r.observe(300, 300, 1);
    r.stop();
    t.fire();
    assert.deepEqual(sent, [{ width: 100, height: 100 }]);
  });

  it('differsEnough is relative, per dimension', () => {
    assert.equal(differsEnough({ width: 100, height: 100 }, { width: 110, height: 100 }, 0.1), false);
    assert.equal(differsEnough({ width: 100, height: 100 }, { width: 111, height: 100 }, 0.1), true);
    assert.equal(differsEnough({ width: 100, height: 100 }, { width: 100, height: 89 }, 0.1), true);
  });
});
