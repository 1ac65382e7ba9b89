import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerInfo } from '@parley-rtc/protocol';
import { Emitter } from '../src/Emitter.ts';
import { ClientError } from '../src/errors.ts';
import { ModeController, type ModeMesh, type ModeSfu } from '../src/ModeController.ts';
import type { SfuTransportEvents } from '../src/SfuTransport.ts';

/**
 * The mesh↔SFU handover, driven through the controller's callbacks: a mesh of link states and an
 * SFU stand-in that records start/close and lets the test fire its events. Timers are mocked, so
 * the handover deadline is exact.
 */

class StandInSfu extends Emitter<SfuTransportEvents> implements ModeSfu {
  started = false;
  closed = false;
  readonly states = new Map<string, RTCPeerConnectionState>();
  constructor(readonly selfId: string) {
    super();
  }
  connectionStateOf(peerId: string): RTCPeerConnectionState | undefined {
    return this.states.get(peerId);
  }
  start(): void {
    this.started = true;
  }
  close(): void {
    this.closed = true;
    this.removeAllListeners();
  }
  fire<K extends keyof SfuTransportEvents>(event: K, ...args: SfuTransportEvents[K]): void {
    this.emit(event, ...args);
  }
}

/** Mesh links by peer id, with their connection state; `added` records each add(peer, initiator). */
class Links implements ModeMesh {
  readonly states = new Map<string, RTCPeerConnectionState>();
  readonly added: string[] = [];
  add(peer: PeerInfo, initiator: boolean): void {
    if (this.states.has(peer.id)) return;
    this.states.set(peer.id, 'new');
    this.added.push(`${peer.id}:${initiator ? 'offers' : 'waits'}`);
  }
  remove(peerId: string): void {
    this.states.delete(peerId);
  }
  has(peerId: string): boolean {
    return this.states.has(peerId);
  }
  isConnected(peerId: string): boolean {
    return this.states.get(peerId) === 'connected';
  }
  ids(): string[] {
    return [...this.states.keys()];
  }
}

const peer = (id: string): PeerInfo => ({ id, name: id.toUpperCase() });

function setup(peers: PeerInfo[] = [peer('ann'), peer('zed')]) {
  const mesh = new Links();
  const sfus: StandInSfu[] = [];
  const modes = new ModeController<StandInSfu>({
    mesh,
    peers: () => peers,
    createSfu: (selfId) => {
      const sfu = new StandInSfu(selfId);
      sfus.push(sfu);
      return sfu;
    },
    handoverTimeoutMs: 5000,
  });
  const events: string[] = [];
  modes.on('mode', (m) => events.push(`mode:${m}`));
  modes.on('connectionState', (id, s) => events.push(`${id}:${s}`));
  modes.on('sfuStopped', () => events.push('sfuStopped'));
  const errors: Error[] = [];
  modes.on('error', (e) => errors.push(e));
  return { mesh, sfus, modes, events, errors };
}

describe('ModeController', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('mesh → SFU: starts one SFU transport and closes each link once that peer flows through the SFU', () => {
    const { mesh, sfus, modes, events } = setup();
    mesh.add(peer('ann'), true);
    mesh.add(peer('zed'), false);
    modes.setMode('sfu', 'me');
    assert.equal(modes.mode, 'sfu');
    assert.equal(sfus.length, 1);
    assert.equal(sfus[0]?.selfId, 'me');
    assert.equal(sfus[0]?.started, true);
    assert.equal(modes.sfu, sfus[0]);
    assert.deepEqual(events, ['mode:sfu']);
    modes.setMode('sfu', 'me');
    assert.equal(sfus.length, 1, 'the same advice twice changes nothing');

    // While Ann still has a link, the SFU's connection state is not hers to show.
    sfus[0]?.fire('connectionState', 'ann', 'connecting');
    assert.deepEqual(events, ['mode:sfu']);
    sfus[0]?.states.set('ann', 'connected');
    sfus[0]?.fire('flowing', 'ann');
    assert.deepEqual(mesh.ids(), ['zed'], "Ann's link closed");
    assert.deepEqual(events, ['mode:sfu', 'ann:connected']);
    sfus[0]?.fire('connectionState', 'ann', 'disconnected');
    assert.deepEqual(events.at(-1), 'ann:disconnected', 'now the SFU carries her state');
    modes.close();
  });

  it('mesh → SFU: links of peers whose media never comes through the SFU close at the deadline', () => {
    const { mesh, modes } = setup();
    mesh.add(peer('ann'), true);
    modes.setMode('sfu', 'me');
    mock.timers.tick(4999);
    assert.deepEqual(mesh.ids(), ['ann']);
    mock.timers.tick(1);
    assert.deepEqual(mesh.ids(), []);
    modes.close();
  });

  it('SFU → mesh: opens a link to every peer (the impolite side offers) and closes the SFU once all are connected', () => {
    const { mesh, sfus, modes, events } = setup();
    modes.setMode('sfu', 'me');
    events.length = 0;
    modes.setMode('mesh', 'me');
    // 'me' > 'ann' (polite: waits for Ann's offer); 'me' < 'zed' (impolite: offers).
    assert.deepEqual(mesh.added, ['ann:waits', 'zed:offers']);
    assert.deepEqual(events, ['mode:mesh']);
    mesh.states.set('ann', 'connected');
    modes.linkConnected();
    assert.equal(sfus[0]?.closed, false, 'Zed is not connected yet');
    mesh.states.set('zed', 'connected');
    modes.linkConnected();
    assert.equal(sfus[0]?.closed, true);
    assert.equal(modes.sfu, undefined);
    assert.deepEqual(events, ['mode:mesh', 'sfuStopped']);
    // A flowing report after the switch does not touch the mesh.
    sfus[0]?.fire('flowing', 'ann');
    assert.deepEqual(mesh.ids(), ['ann', 'zed']);
    modes.close();
  });

  it('SFU → mesh: the SFU closes at the deadline even if a link never connects; a new switch to SFU starts a fresh one', () => {
    const { sfus, modes } = setup();
    modes.setMode('sfu', 'me');
    modes.setMode('mesh', 'me');
    mock.timers.tick(4999);
    assert.equal(sfus[0]?.closed, false);
    mock.timers.tick(1);
    assert.equal(sfus[0]?.closed, true);
    modes.setMode('sfu', 'me');
    assert.equal(sfus.length, 2);
    assert.equal(sfus[1]?.started, true);
    modes.close();
  });

  it('switching back before the deadline cancels it: the mesh deadline does not close the new SFU', () => {
    const { mesh, sfus, modes } = setup();
    modes.setMode('sfu', 'me');
    modes.setMode('mesh', 'me');
    modes.setMode('sfu', 'me');
    assert.equal(sfus.length, 1, 'the SFU transport still open is kept');
    mock.timers.tick(4999);
    assert.equal(sfus[0]?.closed, false);
    assert.deepEqual(mesh.ids(), ['ann', 'zed']);
    mock.timers.tick(1);
    assert.equal(sfus[0]?.closed, false);
    assert.deepEqual(mesh.ids(), [], 'the SFU deadline closed the links instead');
    modes.close();
  });

  it('forwards SFU errors except those of a closed or disconnected signal client', () => {
    const { sfus, modes, errors } = setup();
    modes.setMode('sfu', 'me');
    sfus[0]?.fire('error', new ClientError('disconnected', 'not connected to a room'));
    sfus[0]?.fire('error', new ClientError('closed', 'closed'));
    const real = new Error('subscribe refused');
    sfus[0]?.fire('error', real);
    assert.deepEqual(errors, [real]);
    modes.close();
  });

  it('reset() returns to mesh without a handover; close() is idempotent and no deadline fires after it', () => {
    const { mesh, sfus, modes, events } = setup();
    mesh.add(peer('ann'), true);
    modes.setMode('sfu', 'me');
    modes.reset();
    assert.equal(sfus[0]?.closed, true);
    assert.equal(modes.mode, 'mesh');
    assert.deepEqual(events, ['mode:sfu', 'sfuStopped', 'mode:mesh']);
    mock.timers.tick(10_000);
    assert.deepEqual(mesh.ids(), ['ann'], 'the SFU deadline was cleared');

    modes.setMode('sfu', 'me');
    modes.close();
    modes.close();
    assert.equal(sfus[1]?.closed, true);
    mock.timers.tick(10_000);
    assert.deepEqual(mesh.ids(), ['ann']);
    modes.setMode('mesh', 'me');
    assert.equal(sfus.length, 2, 'a closed controller follows no advice');
  });
});
