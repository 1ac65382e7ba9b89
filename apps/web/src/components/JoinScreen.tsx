import { useState, type FormEvent } from 'react';
import { displayNameSchema } from '@parley-rtc/protocol';
import { describeError, describeMediaError, type CallSession } from '../call/CallSession.ts';
import { useLocalMedia, useMediaReady } from '../hooks/useCall.ts';
import { DevicePicker } from './DevicePicker.tsx';
import { Icon } from './icons.tsx';
import { Video } from './Video.tsx';

const NAME_KEY = 'parley.name';

function storedName(): string {
  try {
    return window.localStorage.getItem(NAME_KEY) ?? '';
  } catch {
    return '';
  }
}

/** The lobby: camera/mic preview, device choice and display name, before joining. */
export function JoinScreen({ session, onJoined }: { session: CallSession; onJoined: (name: string) => void }) {
  const media = useLocalMedia(session);
  const mediaReady = useMediaReady(session);
  const [name, setName] = useState(storedName);
  const [error, setError] = useState<string | null>(null);
  const [joining, setJoining] = useState(false);
  const stream = session.media.cameraStream;
  const mediaErrors = (['video', 'audio'] as const).flatMap((kind) => {
    const reason = media[kind].error;
    return reason ? [describeMediaError({ kind, reason })] : [];
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const parsed = displayNameSchema.safeParse(name);
    if (!parsed.success) {
      setError('Please enter a display name (up to 64 characters).');
      return;
    }
    setError(null);
    setJoining(true);
    try {
      window.localStorage.setItem(NAME_KEY, parsed.data);
    } catch {
      // Private mode: the name is simply not remembered.
    }
    session.join(parsed.data).then(
      () => onJoined(parsed.data),
      (err: unknown) => {
        setJoining(false);
        setError(describeError(err));
      },
    );
  };

  return (
    <main className="center-page">
      <div className="card join-card" data-testid="join-screen">
        <div className="preview">
          {stream && media.video.live ? <Video stream={stream} muted mirrored testId="preview-video" /> : null}
          {!media.video.live || !media.video.enabled ? (
            <div className="avatar" aria-hidden="true">
              <Icon name="camOff" />
            </div>
          ) : null}
          <div className="preview-controls">
            <button
              type="button"
              className={`ctrl round${media.audio.enabled ? '' : ' off'}`}
              data-testid="preview-toggle-mic"
              disabled={!media.audio.live}
              aria-pressed={!media.audio.enabled}
              title={media.audio.enabled ? 'Mute microphone' : 'Unmute microphone'}
              onClick={() => session.media.setEnabled('audio', !media.audio.enabled)}
            >
              <Icon name={media.audio.enabled ? 'mic' : 'micOff'} />
            </button>
            <button
              type="button"
              className={`ctrl round${media.video.enabled ? '' : ' off'}`}
              data-testid="preview-toggle-camera"
              disabled={!media.video.live}
              aria-pressed={!media.video.enabled}
              title={media.video.enabled ? 'Turn camera off' : 'Turn camera on'}
              onClick={() => session.media.setEnabled('video', !media.video.enabled)}
            >
              <Icon name={media.video.enabled ? 'cam' : 'camOff'} />
            </button>
          </div>
        </div>
        <form className="join-form" onSubmit={submit}>
          <p className="eyebrow">Joining room</p>
          <h1 className="join-room" data-testid="join-room-name">
            {session.roomName}
          </h1>
          {mediaErrors.length > 0 ? (
            <div className="callout warn" data-testid="media-error">
              {mediaErrors.map((m) => (
                <p key={m}>{m}</p>
              ))}
            </div>
          ) : null}
          <label className="field">
            <span>Your name</span>
            <input
              data-testid="name-input"
              autoComplete="nickname"
              autoFocus
              maxLength={64}
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder="e.g. Ada"
            />
          </label>
          <DevicePicker session={session} />
          {error ? (
            <p className="error-text" data-testid="join-error">
              {error}
            </p>
          ) : null}
          <button className="btn primary wide" type="submit" data-testid="join-button" disabled={joining || !mediaReady}>
            {joining ? 'Joining…' : mediaReady ? 'Join call' : 'Starting camera…'}
          </button>
        </form>
      </div>
    </main>
  );
}
