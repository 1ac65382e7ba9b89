import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SfuProducerInfo } from '@parley-rtc/protocol';
import { RosterManager } from '../src/RosterManager.ts';
import type { RemotePeer } from '../src/roomTypes.ts';

/** The roster driven through its methods, watched through its events. */

const producer = (id: string, peer: string, kind: 'audio' | 'video', source: SfuProducerInfo['source']): SfuProducerInfo => ({
  id,
  peer,
  kind,
  source,
  layers: 1,
});

function setup() {
  const roster = new RosterManager();
  const log: string[] = [];
  const last = new Map<string, RemotePeer>();
  const flags = (p: RemotePeer) => `${p.media.audio ? 'A' : '-'}${p.media.video ? 'V' : '-'}`;
  roster.on('peerJoined', (p) => log.push(`joined ${p.id} ${p.connectionState} ${flags(p)}`));
  roster.on('peerLeft', (p) => log.push(`left ${p.id}`));
  roster.on('peerUpdated', (p) => {
    last.set(p.id, p);
    log.push(`updated ${p.id} ${p.connectionState} ${flags(p)}`);
  });
  roster.on('speakers', (active, speakers) => log.push(`speakers ${active} ${speakers.length}`));
  return { roster, log, last };
}

describe('RosterManager', () => {
  it('adds each peer once, not connected and without media, and lets it leave once', () => {
    const { roster, log } = setup();
    assert.equal(roster.add({ id: 'ann', name: 'Ann' }), true);
    assert.equal(roster.add({ id: 'ann', name: 'Ann again' }), false);
    assert.deepEqual(log, ['joined ann new --']);
    assert.deepEqual(roster.ids, ['ann']);
    assert.equal(roster.get('ann')?.name, 'Ann');
    roster.setConnectionState('ann', 'connected');
    roster.setConnectionState('bob', 'connected');
    roster.remove('ann');
    roster.remove('ann');
    assert.deepEqual(log, ['joined ann new --', 'updated ann connected --', 'left ann']);
    assert.deepEqual(roster.peers, []);
  });

  it("infers a linkless peer's flags from its SFU producers (a screen is no camera) until the server relays its flags", () => {
    const { roster, log, last } = setup();
    // Announced before the peer is known: kept, and applied when it is added.
    roster.producerAdded(producer('p1', 'ann', 'audio', 'microphone'));
    roster.add({ id: 'ann', name: 'Ann' });
    assert.deepEqual(log, ['joined ann new --', 'updated ann new A-']);
    roster.producerAdded(producer('p2', 'ann', 'video', 'screen'));
    assert.equal(log.length, 2, 'a screen share does not turn the camera flag on');
    roster.producerAdded(producer('p3', 'ann', 'video', 'camera'));
    assert.equal(log.at(-1), 'updated ann new AV');
    assert.deepEqual(
      roster.producers.map((p) => p.id),
      ['p1', 'p2', 'p3'],
    );
    // Her relayed flags win over the guess: microphone muted while its producer still exists.
    roster.serverFlags('ann', { audio: false, video: true, screen: true });
    assert.equal(log.at(-1), 'updated ann new -V');
    roster.producerClosed({ id: 'p3', peer: 'ann' });
    assert.equal(log.at(-1), 'updated ann new -V', 'still her flags, no event');
    assert.equal(log.length, 4);
    assert.equal(last.get('ann')?.media.video, true);
  });

  it("a mesh link's media state wins over producers and relayed flags from then on", () => {
    const { roster, log, last } = setup();
    roster.add({ id: 'ann', name: 'Ann' });
    const media = { audio: true, video: false, cameraStream: 'cam', screenStream: null };
    roster.meshMediaState('ann', media);
    assert.deepEqual(last.get('ann')?.media, media);
    const before = log.length;
    roster.producerAdded(producer('p1', 'ann', 'video', 'camera'));
    roster.serverFlags('ann', { audio: false, video: true, screen: false });
    assert.equal(log.length, before);
    assert.deepEqual(roster.get('ann')?.media, media);
  });

  it('a peer that leaves takes its producers and flags along; resetMedia() forgets those of every peer', () => {
    const { roster, log } = setup();
    roster.add({ id: 'ann', name: 'Ann' });
    roster.producerAdded(producer('p1', 'ann', 'audio', 'microphone'));
    roster.meshMediaState('ann', { audio: true, video: true, cameraStream: 'c', screenStream: null });
    roster.remove('ann');
    assert.deepEqual(roster.producers, []);
    log.length = 0;
    roster.add({ id: 'ann', name: 'Ann' });
    roster.serverFlags('ann', { audio: true, video: false, screen: false });
    assert.deepEqual(log, ['joined ann new --', 'updated ann new A-'], 'back without her mesh state: the relayed flags count');

    roster.producerAdded(producer('p2', 'ann', 'video', 'camera'));
    roster.resetMedia();
    assert.deepEqual(roster.producers, []);
    assert.equal(roster.has('ann'), true, 'the peers stay');
    roster.producerClosed({ id: 'nothing', peer: 'ann' });
    assert.equal(log.at(-1), 'updated ann new --', 'no flags, no producers: nothing on');
  });

  it('reports who speaks only when it changes, and the end of the reports once', () => {
    const { roster, log } = setup();
    roster.setSpeakers(null, []);
    assert.deepEqual(log, [], 'nobody spoke: nothing to say');
    roster.setSpeakers('ann', [{ peer: 'ann', producerId: 'a1', level: 90 }]);
    roster.setSpeakers('ann', [{ peer: 'ann', producerId: 'a1', level: 80 }]);
    assert.equal(roster.activeSpeaker, 'ann');
    roster.setSpeakers(null, []);
    roster.setSpeakers(null, []);
    assert.deepEqual(log, ['speakers ann 1', 'speakers ann 1', 'speakers null 0']);
    assert.equal(roster.activeSpeaker, null);
  });

  it('removeAll() lets every peer leave in the order they came', () => {
    const { roster, log } = setup();
    for (const id of ['ann', 'bob', 'cat']) roster.add({ id, name: id });
    log.length = 0;
    roster.removeAll();
    assert.deepEqual(log, ['left ann', 'left bob', 'left cat']);
  });
});
