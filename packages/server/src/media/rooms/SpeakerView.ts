/**
 * A WHEP view of a room's active speaker: one video and one audio consumer on one SFU connection.
 * The video consumer moves (`Router.switchConsumer`) to the camera of whoever speaks, at the new
 * speaker's next key frame, which the switch asks for (Consumer.switchProducer), so the viewer never
 * decodes a broken picture. A member without a camera keeps the previous picture. With a room audio
 * mix (sfu/mix/RoomAudioMix.ts) the audio consumer takes the mix and stays on it: the viewer hears
 * the whole room; without one it follows the speaker's microphone at once. When the shown publication
 * ends (its member left), the consumer moves to another one (`Consumer.onProducerEnd`) instead of
 * ending the viewer's track.
 */
import type { SfuProducerInfo } from '@parley-rtc/protocol';
import type { ConsumerInfo, Router } from '../../sfu/Router.ts';

type Kind = 'audio' | 'video';
type Picked = { id: string; kind: Kind };

interface Shown {
  consumerId: string;
  /** The publication it shows now (what it switched to last). */
  publicationId: string;
}

export class SpeakerView {
  readonly #router: Router;
  readonly #publications: () => SfuProducerInfo[];
  readonly #shown = new Map<Kind, Shown>();
  /** The room audio mix's producer, when the view's audio is the mix. */
  readonly #mixId: string | undefined;
  #off: (() => void) | undefined;
  #closed = false;

  constructor(router: Router, publications: () => SfuProducerInfo[], mixId?: string) {
    this.#router = router;
    this.#publications = publications;
    this.#mixId = mixId;
  }

  /** What a new viewer subscribes to: the active speaker's camera (else the first one) and the mix (else that speaker's microphone). */
  initial(): Picked[] {
    const pubs = this.#publications();
    const speaking = pubs.find((p) => p.id === this.#router.activeSpeaker);
    const pick = (kind: Kind) => this.#pickFor(kind, speaking?.peer, undefined) ?? pubs.find((p) => p.kind === kind);
    const audio: Picked | undefined = this.#mixId === undefined ? pick('audio') : { id: this.#mixId, kind: 'audio' };
    const picked: Array<Picked | undefined> = [pick('video'), audio];
    return picked.filter((p): p is Picked => p !== undefined);
  }

  /** Follows the speaker from now on with these consumers (of the subscription made from `initial()`). */
  start(consumers: readonly ConsumerInfo[]): void {
    if (this.#closed) return;
    for (const c of consumers) {
      if (c.producerId === this.#mixId) continue; // the mix stays
      this.#shown.set(c.kind, { consumerId: c.id, publicationId: c.producerId });
      const consumer = this.#router.consumer(c.id);
      if (consumer) consumer.onProducerEnd = () => this.#replace(c.kind);
    }
    this.#off = this.#router.on('speakers', (active) => {
      const member = active && this.#publications().find((p) => p.id === active.producerId)?.peer;
      if (member) this.#follow(member);
    });
  }

  #pickFor(kind: Kind, member: string | undefined, except: string | undefined): SfuProducerInfo | undefined {
    if (member === undefined) return undefined;
    const own = this.#publications().filter((p) => p.peer === member && p.kind === kind && p.id !== except);
    return own.find((p) => p.source === (kind === 'video' ? 'camera' : 'microphone')) ?? own[0];
  }

  #follow(member: string): void {
    for (const kind of ['video', 'audio'] as const) {
      const next = this.#pickFor(kind, member, undefined);
      if (next) this.#switch(kind, next.id);
    }
  }

  #switch(kind: Kind, publicationId: string): boolean {
    const shown = this.#shown.get(kind);
    if (!shown || this.#closed) return false;
    if (shown.publicationId === publicationId) return true;
    try {
      this.#router.switchConsumer(shown.consumerId, publicationId);
    } catch {
      return false; // another codec, or it ended meanwhile: keep what is shown
    }
    shown.publicationId = publicationId;
    return true;
  }

  /** The shown publication of `kind` ended: show the current speaker's, else any other one. */
  #replace(kind: Kind): boolean {
    const ending = this.#shown.get(kind)?.publicationId;
    const pubs = this.#publications().filter((p) => p.kind === kind && p.id !== ending);
    const speaking = this.#publications().find((p) => p.id === this.#router.activeSpeaker)?.peer;
    for (const p of [...pubs.filter((q) => q.peer === speaking), ...pubs]) if (this.#switch(kind, p.id)) return true;
    return false;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#off?.();
    for (const { consumerId } of this.#shown.values()) {
      const consumer = this.#router.consumer(consumerId);
      if (consumer) consumer.onProducerEnd = undefined;
    }
  }
}
