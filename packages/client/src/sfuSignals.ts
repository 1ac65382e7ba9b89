import type { Membership } from './Membership.ts';
import type { ModeController } from './ModeController.ts';
import type { RosterManager } from './RosterManager.ts';
import type { SfuTransport } from './SfuTransport.ts';
import type { SignalClient } from './SignalClient.ts';

export interface SfuSignalTargets {
  /** Runs `fn` now when joined, or once the join in flight has completed. */
  whenJoined(fn: () => void): void;
  membership: Membership;
  selfId(): string | undefined;
  modes: ModeController<SfuTransport>;
  roster: RosterManager;
}

/**
 * Routes the server's room-media announcements — the room's mode, SFU producers opening and
 * closing, speakers and members' media flags — to the mode controller and the roster.
 * @internal
 */
export function bindSfuSignals(signal: SignalClient, t: SfuSignalTargets): void {
  signal.on('sfuMode', (m) => {
    t.membership.announce(m.mode);
    t.whenJoined(() => {
      const self = t.selfId();
      if (self) t.modes.setMode(m.mode, self);
    });
  });
  signal.on('sfuProducer', (p) =>
    t.whenJoined(() => {
      if (p.peer === t.selfId()) return;
      t.roster.producerAdded(p);
      t.modes.sfu?.addProducer(p);
    }),
  );
  signal.on('sfuProducerClosed', (p) =>
    t.whenJoined(() => {
      t.roster.producerClosed(p);
      t.modes.sfu?.removeProducer(p.id);
    }),
  );
  signal.on('peerMedia', ({ id, ...flags }) => t.whenJoined(() => t.roster.serverFlags(id, flags)));
  signal.on('sfuSpeakers', (m) => t.whenJoined(() => t.roster.setSpeakers(m.active?.peer ?? null, m.speakers)));
}
