/**
 * The direct file transfer protocol (src/fileTransfer) between two real node-datachannel peers:
 * a file arrives whole with a matching SHA-256 and progress on both sides, either side cancels,
 * a decline and a too-large offer end it, a corrupted chunk fails the hash, and after a dropped
 * channel the receiver resumes at the bytes it holds.
 */
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { encodeFileChunk } from '@parley-rtc/protocol';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';
import { FileTransferError, FileTransfers, type IncomingTransfer, type Transfer, type TransferState } from '../src/fileTransfer/index.ts';
import { DataChannelPair } from './dataChannelPair.ts';

const MiB = 1024 * 1024;

function randomFile(size: number, name = 'data.bin'): File {
  return new File([randomBytes(size)], name, { type: 'application/octet-stream' });
}

async function sha256(blob: Blob): Promise<string> {
  return createHash('sha256')
    .update(new Uint8Array(await blob.arrayBuffer()))
    .digest('hex');
}

function nextOffer(transfers: FileTransfers): Promise<IncomingTransfer> {
  return new Promise((resolve) => transfers.once('offer', resolve));
}

function states(t: Transfer): TransferState[] {
  const seen: TransferState[] = [];
  t.on('state', (s) => seen.push(s));
  return seen;
}

describe('direct file transfer over a data channel', () => {
  let pair: DataChannelPair;
  let alice: FileTransfers;
  let bob: FileTransfers;

  // One pair of peers for the file (each test starts with an open channel); fewer native
  // connections opened and closed keeps libdatachannel's teardown simple.
  before(async () => {
    pair = await DataChannelPair.open();
  });

  beforeEach(async () => {
    pair.a.tamper = undefined;
    if (!pair.a.isOpen('bob') || !pair.b.isOpen('alice')) await pair.reopen();
    alice = new FileTransfers(pair.a, { resumeTimeoutMs: 20_000 });
    bob = new FileTransfers(pair.b, { resumeTimeoutMs: 20_000 });
  });

  afterEach(() => {
    alice.close();
    bob.close();
  });

  after(() => {
    pair.close();
    releaseNativeWebRtc();
  });

  test('a file arrives whole, its SHA-256 matches, and both sides report progress', async () => {
    const file = randomFile(4 * MiB + 123);
    const offered = nextOffer(bob);
    const out = alice.send('bob', file);
    const sent: number[] = [];
    out.on('progress', (loaded) => sent.push(loaded));
    const incoming = await offered;
    assert.equal(incoming.name, 'data.bin');
    assert.equal(incoming.size, file.size);
    assert.equal(incoming.peer, 'alice');
    const received: number[] = [];
    incoming.on('progress', (loaded) => received.push(loaded));
    const [blob] = await Promise.all([incoming.accept(), out.done]);
    assert.equal(blob.size, file.size);
    assert.equal(await sha256(blob), await sha256(file));
    assert.equal(out.state, 'done');
    assert.equal(incoming.state, 'done');
    assert.ok(sent.length > 10 && received.length > 10, 'progress is reported as chunks move');
    assert.equal(sent.at(-1), file.size);
    assert.equal(received.at(-1), file.size);
    assert.deepEqual(alice.transfers, []);
    assert.deepEqual(bob.transfers, []);
  });

  test('an empty file transfers too', async () => {
    const offered = nextOffer(bob);
    const out = alice.send('bob', new File([], 'empty.txt', { type: 'text/plain' }));
    const blob = await (await offered).accept();
    await out.done;
    assert.equal(blob.size, 0);
    assert.equal(blob.type, 'text/plain');
  });

  test('the receiver cancels mid-way: both sides end cancelled', async () => {
    const offered = nextOffer(bob);
    const out = alice.send('bob', randomFile(16 * MiB));
    const incoming = await offered;
    const accepted = incoming.accept();
    await waitFor(() => incoming.loaded > 0, 10_000);
    incoming.cancel();
    await assert.rejects(accepted, (err) => err instanceof FileTransferError && err.reason === 'cancelled');
    await assert.rejects(out.done, (err) => err instanceof FileTransferError && err.reason === 'cancelled');
    assert.equal(out.state, 'cancelled');
    assert.ok(out.loaded < out.size, 'the sender stopped before the end');
  });

  test('the sender cancels with an AbortSignal: the receiver ends cancelled', async () => {
    const abort = new AbortController();
    const offered = nextOffer(bob);
    const out = alice.send('bob', randomFile(16 * MiB), { signal: abort.signal });
    const incoming = await offered;
    const accepted = incoming.accept();
    await waitFor(() => incoming.loaded > 0, 10_000);
    abort.abort();
    await assert.rejects(out.done, (err) => err instanceof FileTransferError && err.reason === 'cancelled');
    await assert.rejects(accepted, (err) => err instanceof FileTransferError && err.reason === 'cancelled');
    assert.equal(incoming.state, 'cancelled');
  });

  test('a declined offer and one over the receiver limit end the sender with that reason', async () => {
    const offered = nextOffer(bob);
    const declined = alice.send('bob', randomFile(1000));
    (await offered).decline();
    await assert.rejects(declined.done, (err) => err instanceof FileTransferError && err.reason === 'declined');

    bob.close();
    bob = new FileTransfers(pair.b, { maxBytes: 1000 });
    let offers = 0;
    bob.on('offer', () => offers++);
    const big = alice.send('bob', randomFile(1001));
    await assert.rejects(big.done, (err) => err instanceof FileTransferError && err.reason === 'too-large');
    assert.equal(offers, 0);
  });

  test('a corrupted chunk fails the SHA-256 check on both sides', async () => {
    let corrupted = false;
    pair.a.tamper = (frame) => {
      if (corrupted) return frame;
      corrupted = true;
      const copy = frame.slice();
      copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 0xff;
      return copy;
    };
    const offered = nextOffer(bob);
    const out = alice.send('bob', randomFile(100_000));
    const accepted = (await offered).accept();
    await assert.rejects(accepted, (err) => err instanceof FileTransferError && err.reason === 'hash-mismatch');
    await assert.rejects(out.done, (err) => err instanceof FileTransferError && err.reason === 'hash-mismatch');
    assert.ok(corrupted);
  });

  test('chunks lost on the way (a relay dropped them) are asked for again, and the file still verifies', async () => {
    let frames = 0;
    pair.a.tamper = (frame) => {
      frames++;
      // Lose chunk 10, and the last chunk (so the gap shows only at `done`).
      return frames === 10 || frames === 64 ? undefined : frame;
    };
    const file = randomFile(64 * 16 * 1024);
    const offered = nextOffer(bob);
    const out = alice.send('bob', file);
    const [blob] = await Promise.all([(await offered).accept(), out.done]);
    assert.equal(await sha256(blob), await sha256(file));
    assert.ok(frames > 64, 'lost chunks were sent again');
  });

  test('after a dropped channel the receiver resumes at its offset and the file still verifies', async () => {
    const file = randomFile(12 * MiB);
    const offered = nextOffer(bob);
    const out = alice.send('bob', file);
    const senderStates = states(out);
    const incoming = await offered;
    const receiverStates = states(incoming);
    const accepted = incoming.accept();
    await waitFor(() => incoming.loaded >= 2 * MiB, 20_000);
    pair.drop();
    await waitFor(() => out.state === 'paused' && incoming.state === 'paused', 10_000);
    const heldAtDrop = incoming.loaded;
    assert.ok(heldAtDrop > 0 && heldAtDrop < file.size);
    // The sender restarts from where the receiver resumed, not from 0.
    let restartedAt: number | undefined;
    out.once('progress', (loaded) => (restartedAt = loaded));
    await pair.reopen();
    const blob = await accepted;
    await out.done;
    assert.equal(restartedAt, heldAtDrop);
    assert.equal(await sha256(blob), await sha256(file));
    assert.ok(senderStates.includes('paused') && receiverStates.includes('paused'));
    assert.equal(out.state, 'done');
  });

  test('a drop that outlasts the resume timeout fails both sides with timeout', async () => {
    alice.close();
    bob.close();
    alice = new FileTransfers(pair.a, { resumeTimeoutMs: 300 });
    bob = new FileTransfers(pair.b, { resumeTimeoutMs: 300 });
    const offered = nextOffer(bob);
    const out = alice.send('bob', randomFile(16 * MiB));
    const incoming = await offered;
    const accepted = incoming.accept();
    await waitFor(() => incoming.loaded > 0, 10_000);
    pair.drop();
    await assert.rejects(accepted, (err) => err instanceof FileTransferError && err.reason === 'timeout');
    await assert.rejects(out.done, (err) => err instanceof FileTransferError && err.reason === 'timeout');
  });

  test('invalid messages are dropped and counted; chunks for unknown transfers are ignored', async () => {
    let invalid = 0;
    bob.on('invalidMessage', () => invalid++);
    await pair.a.send('bob', '{"type":"offer","id":"x"}');
    await pair.a.send('bob', 'not json');
    await pair.a.send('bob', new Uint8Array([1, 2, 3]));
    await pair.a.send('bob', encodeFileChunk('unknown-transfer', 0, new Uint8Array(10)));
    await waitFor(() => invalid === 3, 5000);
    // The link still works.
    const offered = nextOffer(bob);
    const out = alice.send('bob', randomFile(5000));
    await (await offered).accept();
    await out.done;
    assert.equal(invalid, 3);
  });

  test('sending without an open path or after close throws at once', () => {
    assert.throws(() => alice.send('carol', randomFile(10)), /no open data path/);
    alice.close();
    assert.throws(() => alice.send('bob', randomFile(10)), /closed/);
  });
});
