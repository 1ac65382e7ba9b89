import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Emitter } from '../src/Emitter.ts';

class Bus extends Emitter<{ ping: [n: number]; done: [] }> {
  readonly errors: unknown[] = [];
  fire(n: number) {
    this.emit('ping', n);
  }
  protected override onListenerError(err: unknown): void {
    this.errors.push(err);
  }
}

describe('Emitter', () => {
  it('on() returns an unsubscribe; once() fires once; removeAllListeners() drops all', () => {
    const bus = new Bus();
    const got: number[] = [];
    const off = bus.on('ping', (n) => got.push(n));
    bus.once('ping', (n) => got.push(n * 100));
    bus.fire(1);
    bus.fire(2);
    off();
    bus.fire(3);
    assert.deepEqual(got, [1, 100, 2]);
    bus.on('ping', (n) => got.push(n));
    bus.removeAllListeners();
    bus.fire(4);
    assert.equal(bus.listenerCount('ping'), 0);
    assert.deepEqual(got, [1, 100, 2]);
  });

  it('a throwing listener does not stop the others', () => {
    const bus = new Bus();
    const got: number[] = [];
    bus.on('ping', () => {
      throw new Error('boom');
    });
    bus.on('ping', (n) => got.push(n));
    bus.fire(7);
    assert.deepEqual(got, [7]);
    assert.equal(bus.errors.length, 1);
  });
});
