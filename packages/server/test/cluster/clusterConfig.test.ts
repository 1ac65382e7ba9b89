import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig, parseConfig } from '../../src/config.ts';

test('without Redis there is no cluster mode: SQLite stays the default', () => {
  const config = parseConfig({});
  assert.equal(config.redis.url, undefined);
  assert.equal(config.storage.driver, 'sqlite');
});

test('Redis with SQLite is refused, saying why', () => {
  assert.throws(
    () => parseConfig({ redis: { url: 'redis://127.0.0.1:6379' } }),
    (err: unknown) => err instanceof ConfigError && /cluster mode/.test(err.message) && /postgres/.test(err.message),
  );
});

test('Redis with PostgreSQL from the environment and flags', () => {
  const config = loadConfig(
    { 'redis-url': 'redis://127.0.0.1:6390', 'node-id': 'node-b', 'node-address': 'http://10.0.0.2:8080' },
    { PARLEY_STORAGE: 'postgres', PARLEY_POSTGRES_URL: 'postgres://x@127.0.0.1/parley', PARLEY_REDIS_URL: 'redis://ignored:1' },
  );
  assert.equal(config.redis.url, 'redis://127.0.0.1:6390');
  assert.equal(config.cluster.nodeId, 'node-b');
  assert.equal(config.cluster.address, 'http://10.0.0.2:8080');
  assert.equal(config.cluster.heartbeatMs, 2000);
  assert.equal(config.cluster.deadAfterMs, 5000);
});

test('a bad node id or Redis URL is refused', () => {
  assert.throws(() => parseConfig({ storage: { driver: 'postgres' }, redis: { url: 'http://x' } }), ConfigError);
  assert.throws(() => parseConfig({ cluster: { nodeId: 'a b' } }), ConfigError);
});
