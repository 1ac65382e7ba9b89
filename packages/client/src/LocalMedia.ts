import { Emitter } from './Emitter.ts';
import { MediaAccessError, type MediaErrorReason } from './errors.ts';
import type { LocalTrack, TrackSlot } from './PeerLink.ts';

export type DeviceKind = 'audio' | 'video';

export interface DeviceState {
  /** A live track exists. */
  live: boolean;
  /** The track is sending (not muted via `track.enabled = false`). */
  enabled: boolean;
  deviceId: string | null;
  /** Why the last attempt to open this device failed, if it did. */
  error: MediaErrorReason | null;
}

export interface LocalMediaState {
  audio: DeviceState;
  video: DeviceState;
  screen: boolean;
}

export interface LocalMediaEvents {
  /** A slot's track appeared, was replaced (device switch) or went away (null). */
  track: [slot: TrackSlot, local: LocalTrack | null];
  state: [state: LocalMediaState];
  devices: [devices: MediaDeviceInfo[]];
  error: [error: MediaAccessError];
}

export interface LocalMediaOptions {
  /** Defaults to `navigator.mediaDevices`. */
  mediaDevices?: MediaDevices;
  /** Constraints merged into every camera request (mesh calls upload once per peer: keep it modest). */
  video?: MediaTrackConstraints;
  audio?: MediaTrackConstraints;
}

const DEFAULT_VIDEO: MediaTrackConstraints = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24 } };
const DEFAULT_AUDIO: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/**
 * The local camera, microphone and screen share: the only part of the SDK that touches browser
 * media APIs. Mute is `track.enabled` (the sender keeps its slot and sends silence/black); device
 * switches produce a new track that the Room swaps in with RTCRtpSender.replaceTrack.
 */
export class LocalMedia extends Emitter<LocalMediaEvents> {
  readonly #devices: MediaDevices | undefined;
  readonly #videoConstraints: MediaTrackConstraints;
  readonly #audioConstraints: MediaTrackConstraints;
  readonly #tracks = new Map<TrackSlot, MediaStreamTrack>();
  readonly #errors: Record<DeviceKind, MediaErrorReason | null> = { audio: null, video: null };
  readonly #enabled: Record<DeviceKind, boolean> = { audio: true, video: true };
  #camera: MediaStream | undefined;
  #screen: MediaStream | undefined;
  #closed = false;
  readonly #onDeviceChange = () => void this.enumerateDevices().catch(() => {});

  constructor(options: LocalMediaOptions = {}) {
    super();
    this.#devices = options.mediaDevices ?? (typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined);
    this.#videoConstraints = { ...DEFAULT_VIDEO, ...options.video };
    this.#audioConstraints = { ...DEFAULT_AUDIO, ...options.audio };
    this.#devices?.addEventListener('devicechange', this.#onDeviceChange);
  }

  /** The stream holding the camera and mic tracks: use it for the local preview. */
  get cameraStream(): MediaStream | undefined {
    return this.#camera;
  }

  get screenStream(): MediaStream | undefined {
    return this.#screen;
  }

  track(slot: TrackSlot): MediaStreamTrack | undefined {
    return this.#tracks.get(slot);
  }

  /**
   * Every live track with its stream, for a Room to publish.
   * @internal
   */
  published(): Array<[TrackSlot, LocalTrack]> {
    const out: Array<[TrackSlot, LocalTrack]> = [];
    for (const [slot, track] of this.#tracks) out.push([slot, { track, stream: slot === 'screen' ? this.#screen : this.#camera }]);
    return out;
  }

  get state(): LocalMediaState {
    const device = (kind: DeviceKind): DeviceState => {
      const track = this.#tracks.get(kind);
      return {
        live: track !== undefined,
        enabled: track !== undefined && this.#enabled[kind],
        deviceId: track?.getSettings().deviceId ?? null,
        error: this.#errors[kind],
      };
    };
    return { audio: device('audio'), video: device('video'), screen: this.#tracks.has('screen') };
  }

  /**
   * Opens the camera and/or microphone. Tries both in one request (one permission prompt), then
   * each alone, so a denied camera still leaves a working mic. Never throws for denied media: the
   * reason is in `state.audio.error` / `state.video.error` and in an `error` event.
   */
  async start(want: { audio?: boolean | string; video?: boolean | string } = { audio: true, video: true }): Promise<LocalMediaState> {
    const kinds: DeviceKind[] = (['audio', 'video'] as const).filter((k) => want[k] !== false && want[k] !== undefined);
    if (kinds.length === 0) return this.state;
    const constraints = (kind: DeviceKind): MediaTrackConstraints => {
      const base = kind === 'video' ? this.#videoConstraints : this.#audioConstraints;
      const id = want[kind];
      return typeof id === 'string' ? { ...base, deviceId: { exact: id } } : base;
    };
    try {
      const stream = await this.#getUserMedia({
        audio: kinds.includes('audio') ? constraints('audio') : false,
        video: kinds.includes('video') ? constraints('video') : false,
      });
      for (const kind of kinds)
        this.#adopt(
          kind,
          stream.getTracks().find((t) => t.kind === kind),
        );
    } catch {
      for (const kind of kinds) {
        try {
          const stream = await this.#getUserMedia({ [kind]: constraints(kind) });
          this.#adopt(
            kind,
            stream.getTracks().find((t) => t.kind === kind),
          );
        } catch (err) {
          this.#reportError(kind, err);
        }
      }
    }
    await this.enumerateDevices().catch(() => []);
    this.#emitState();
    return this.state;
  }

  /** Mutes or unmutes by `track.enabled`; the state survives device switches. */
  setEnabled(kind: DeviceKind, enabled: boolean): void {
    this.#enabled[kind] = enabled;
    const track = this.#tracks.get(kind);
    if (track) track.enabled = enabled;
    this.#emitState();
  }

  /** Switches to another camera or microphone during a call. */
  async switchDevice(kind: DeviceKind, deviceId: string): Promise<void> {
    const base = kind === 'video' ? this.#videoConstraints : this.#audioConstraints;
    let stream: MediaStream;
    try {
      stream = await this.#getUserMedia({ [kind]: { ...base, deviceId: { exact: deviceId } } });
    } catch (err) {
      const error = this.#reportError(kind, err);
      this.#emitState();
      throw error;
    }
    this.#adopt(
      kind,
      stream.getTracks().find((t) => t.kind === kind),
    );
    this.#emitState();
  }

  async enumerateDevices(): Promise<MediaDeviceInfo[]> {
    if (!this.#devices || this.#closed) return [];
    const list = await this.#devices.enumerateDevices();
    this.emit('devices', list);
    return list;
  }

  /** Starts a screen share (getDisplayMedia), published as an extra video track. */
  async startScreenShare(): Promise<void> {
    if (this.#tracks.has('screen')) return;
    if (!this.#devices?.getDisplayMedia) throw new MediaAccessError('screen', 'unsupported', 'screen sharing is not supported here');
    let stream: MediaStream;
    try {
      stream = await this.#devices.getDisplayMedia({ video: true, audio: false });
    } catch (err) {
      const error = MediaAccessError.from('screen', err);
      this.emit('error', error);
      throw error;
    }
    const track = stream.getVideoTracks()[0];
    if (!track) throw new MediaAccessError('screen', 'not-found', 'the screen capture has no video track');
    track.contentHint = 'detail';
    // The browser's own "Stop sharing" button ends the track.
    track.addEventListener('ended', () => this.stopScreenShare(), { once: true });
    this.#screen = stream;
    this.#tracks.set('screen', track);
    this.emit('track', 'screen', { track, stream });
    this.#emitState();
  }

  stopScreenShare(): void {
    const track = this.#tracks.get('screen');
    if (!track) return;
    this.#tracks.delete('screen');
    track.stop();
    this.#screen = undefined;
    this.emit('track', 'screen', null);
    this.#emitState();
  }

  /** Stops every track and removes listeners. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#devices?.removeEventListener('devicechange', this.#onDeviceChange);
    for (const track of this.#tracks.values()) track.stop();
    this.#tracks.clear();
    this.#camera = undefined;
    this.#screen = undefined;
    this.removeAllListeners();
  }

  async #getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream> {
    if (this.#closed) throw new MediaAccessError('video', 'unsupported', 'local media is closed');
    if (!this.#devices?.getUserMedia) throw new DOMException('getUserMedia is not available', 'NotSupportedError');
    return this.#devices.getUserMedia(constraints);
  }

  #adopt(kind: DeviceKind, track: MediaStreamTrack | undefined): void {
    if (!track) return;
    if (this.#closed) {
      track.stop();
      return;
    }
    const old = this.#tracks.get(kind);
    this.#camera ??= new MediaStream();
    if (old) {
      this.#camera.removeTrack(old);
      old.stop();
    }
    track.enabled = this.#enabled[kind];
    this.#camera.addTrack(track);
    this.#tracks.set(kind, track);
    this.#errors[kind] = null;
    track.addEventListener(
      'ended',
      () => {
        if (this.#tracks.get(kind) !== track) return;
        this.#tracks.delete(kind);
        this.#camera?.removeTrack(track);
        this.emit('track', kind, null);
        this.#emitState();
      },
      { once: true },
    );
    this.emit('track', kind, { track, stream: this.#camera });
  }

  #reportError(kind: DeviceKind, err: unknown): MediaAccessError {
    const error = MediaAccessError.from(kind, err);
    this.#errors[kind] = error.reason;
    this.emit('error', error);
    return error;
  }

  #emitState(): void {
    if (!this.#closed) this.emit('state', this.state);
  }
}
