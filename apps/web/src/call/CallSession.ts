import { ChatChannel, LocalMedia, Room, type MediaAccessError, type MuteNotice } from '@parley-rtc/client';
import { exposeTestHooks } from '../testHooks.ts';
import { DirectFileStore } from './DirectFiles.ts';
import { NoticeStore } from './Notices.ts';
import { UploadStore } from './Uploads.ts';
import { forgetCall, rememberCall, rememberedCall } from './rememberedCall.ts';

export type Stage = 'lobby' | 'joining' | 'call' | 'left';

const MEDIA_HELP: Record<string, string> = {
  denied: 'access was blocked. You can still join and chat; allow it in your browser’s site settings and rejoin.',
  'not-found': 'no device was found.',
  'in-use': 'the device is in use by another application.',
  overconstrained: 'the selected device cannot be used.',
  unsupported: 'this browser cannot use it here (the page must be served over https or from localhost).',
  unknown: 'it could not be started.',
};

export { describeError } from './describeError.ts';

const MUTED: Record<MuteNotice['kind'], string> = {
  audio: 'Microphone muted',
  video: 'Camera turned off',
  screen: 'Screen sharing stopped',
};

/** What the call says after a mute request: "Microphone muted by Ada", "… by the server". */
export function describeMuteRequest(request: MuteNotice, nameOf: (id: string) => string | undefined): string {
  const who = request.by === 'server' ? 'the server' : (nameOf(request.by) ?? 'an admin');
  return `${MUTED[request.kind]} by ${who}`;
}

export function describeMediaError(error: Pick<MediaAccessError, 'kind' | 'reason'>): string {
  const what = error.kind === 'audio' ? 'Microphone' : error.kind === 'video' ? 'Camera' : 'Screen sharing';
  return `${what}: ${MEDIA_HELP[error.reason] ?? MEDIA_HELP['unknown']}`;
}

/**
 * One visit to a room page: the local media, the Room and the notices, living outside React.
 * Components read them through hooks that subscribe to their emitters.
 */
export class CallSession {
  readonly media = new LocalMedia();
  readonly room = new Room({ media: this.media });
  readonly notices = new NoticeStore();
  readonly uploads = new UploadStore(this.room);
  /** Chat over the data channel where open, always into the room log (ChatChannel). */
  readonly chat = new ChatChannel(this.room);
  /** Files sent directly to one participant. */
  readonly directFiles = new DirectFileStore(this.room, this.uploads);
  #stage: Stage = 'lobby';
  #stageListeners = new Set<() => void>();
  #unsubscribe: Array<() => void> = [];
  #closed = false;
  #name: string | undefined;
  #mediaReady = false;
  /** The name this tab was in the call with before a reload: the page joins again at once. */
  readonly resumeName: string | undefined;

  /**
   * `token`: the access token to join with (the room page takes it from `?token=`), for servers
   * with auth; none in open mode.
   */
  constructor(
    readonly roomName: string,
    private readonly serverUrl: string = window.location.origin,
    private readonly token?: string,
  ) {
    const { room, media, notices } = this;
    this.resumeName = rememberedCall(roomName);
    this.#unsubscribe.push(
      exposeTestHooks({ room, media, stats: () => room.getStats(), chat: this.chat }),
      media.on('error', (e) => notices.push(describeMediaError(e), 'warn', 10_000)),
      room.on('peerJoined', (p) => notices.push(`${p.name} joined`)),
      room.on('peerLeft', (p) => {
        if (room.state === 'connected') notices.push(`${p.name} left the call`);
      }),
      room.on('peerUpdated', (p) => {
        if (p.connectionState === 'failed') notices.push(`Lost the media connection to ${p.name}; retrying…`, 'warn');
      }),
      room.on('connectionState', (state, reason) => {
        if (state === 'reconnecting') notices.push('Disconnected from the server. Reconnecting…', 'warn');
        if (state === 'connected' && this.#stage === 'call') notices.push('Reconnected.');
        if (state === 'disconnected' && this.#stage === 'call' && reason !== 'left') {
          forgetCall(roomName);
          notices.push(`Disconnected from the server${reason ? ` (${reason})` : ''}.`, 'error', 0);
        }
      }),
      room.on('sessionEnded', (_reason, message) => {
        forgetCall(roomName);
        notices.push(`The server ended the call: ${message}`, 'error', 0);
      }),
      // The Room has already applied the request to `media` (the controls show it muted).
      room.on('muteRequested', (request) =>
        notices.push(
          describeMuteRequest(request, (id) => room.peers.find((p) => p.id === id)?.name),
          'warn',
          10_000,
        ),
      ),
      room.on('recording', (state) => {
        if (state.error) notices.push(`The recording stopped: ${state.error.message}`, 'error', 0);
        else notices.push(state.recording ? 'This call is now being recorded.' : 'The recording stopped.');
      }),
      room.on('error', (err) => console.warn('[parley]', err)),
    );
  }

  /** Starts or stops the room's recording (the server checks the `record` permission). */
  async toggleRecording(): Promise<void> {
    try {
      if (this.room.recording.state.recording) await this.room.recording.stop();
      else await this.room.recording.start();
    } catch (err) {
      const forbidden = (err as { code?: string }).code === 'FORBIDDEN';
      this.notices.push(forbidden ? 'You may not record this room.' : `Recording: ${(err as Error).message}`, 'warn', 10_000);
    }
  }

  get stage(): Stage {
    return this.#stage;
  }

  onStage(fn: () => void): () => void {
    this.#stageListeners.add(fn);
    return () => this.#stageListeners.delete(fn);
  }

  /** True once the first camera/mic request has settled (granted or not). */
  get mediaReady(): boolean {
    return this.#mediaReady;
  }

  /**
   * Opens camera and mic for the lobby preview. Denied media is reported, not thrown. The lobby
   * waits for this before joining: the first offer is then already carrying the tracks, and
   * Chromium only gathers host ICE candidates once the page holds a media grant.
   */
  async startMedia(): Promise<void> {
    try {
      await this.media.start({ audio: true, video: true });
    } finally {
      this.#mediaReady = true;
      for (const fn of [...this.#stageListeners]) fn();
    }
  }

  async join(name: string): Promise<void> {
    if (this.#stage === 'joining' || this.#stage === 'call') return;
    this.#setStage('joining');
    try {
      this.#name = name;
      await this.room.connect(this.serverUrl, { room: this.roomName, name, ...this.#tokenOption() });
      rememberCall(this.roomName, name);
      this.#setStage('call');
    } catch (err) {
      this.#setStage('lobby');
      throw err;
    }
  }

  /** Connects again after the server dropped us for good (the Room reconnects by itself otherwise). */
  async rejoin(): Promise<void> {
    const self = this.room.self;
    if (this.room.state !== 'disconnected' || !this.#name) return;
    await this.room.connect(this.serverUrl, { room: this.roomName, name: self?.name ?? this.#name, ...this.#tokenOption() });
  }

  async leave(): Promise<void> {
    this.media.stopScreenShare();
    forgetCall(this.roomName);
    await this.room.leave();
    this.#setStage('left');
  }

  /** Ends everything: room, media, notices, test hooks. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // The page closes the call (navigating away, not a reload): a later visit starts in the lobby.
    if (this.#stage !== 'lobby') forgetCall(this.roomName);
    for (const off of this.#unsubscribe.splice(0)) off();
    this.room.close();
    this.media.close();
    this.notices.close();
    this.uploads.close();
    this.chat.close();
    this.directFiles.close();
    this.#stageListeners.clear();
  }

  #tokenOption(): { token?: string } {
    return this.token ? { token: this.token } : {};
  }

  #setStage(stage: Stage): void {
    if (this.#stage === stage) return;
    this.#stage = stage;
    for (const fn of [...this.#stageListeners]) fn();
  }
}
