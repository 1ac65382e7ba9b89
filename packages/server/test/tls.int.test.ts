import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '@parley-rtc/test-support/server';

describe('TLS for direct deployments', () => {
  it('serves HTTPS from configured PEM files and refuses unreadable ones clearly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-tls-'));
    try {
      const cert = join(dir, 'cert.pem');
      const key = join(dir, 'key.pem');
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'],
        { stdio: 'ignore' },
      );
      const server = await startServer({ tls: { cert, key } });
      try {
        assert.match(server.app.url, /^https:\/\//);
        const body = await new Promise<string>((resolve, reject) => {
          get(`${server.app.url}/healthz`, { rejectUnauthorized: false }, (res) => {
            let data = '';
            res.on('data', (d: Buffer) => (data += d.toString()));
            res.on('end', () => resolve(data));
          }).on('error', reject);
        });
        assert.deepEqual(JSON.parse(body), { ok: true });
      } finally {
        await server.close();
      }
      await assert.rejects(startServer({ tls: { cert: join(dir, 'missing.pem'), key } }), /cannot read TLS certificate or key/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
