import { useRef, useState } from 'react';
import type { CallSession } from '../call/CallSession.ts';
import { useCanRecord, useLocalMedia, useRecording } from '../hooks/useCall.ts';
import { DevicePicker } from './DevicePicker.tsx';
import { Icon } from './icons.tsx';

export interface ControlsProps {
  session: CallSession;
  chatOpen: boolean;
  unread: number;
  onToggleChat: () => void;
  onLeave: () => void;
}

export function Controls({ session, chatOpen, unread, onToggleChat, onLeave }: ControlsProps) {
  const media = useLocalMedia(session);
  const [devicesOpen, setDevicesOpen] = useState(false);
  const devicesButton = useRef<HTMLButtonElement>(null);
  const recording = useRecording(session);
  // only members with the record grant get the button (the server refuses the others anyway)
  const canRecord = useCanRecord(session);
  const canShare = typeof navigator !== 'undefined' && typeof navigator.mediaDevices?.getDisplayMedia === 'function';

  return (
    <nav className="controls" aria-label="Call controls">
      <button
        className={`ctrl${media.audio.enabled ? '' : ' off'}`}
        data-testid="toggle-mic"
        aria-pressed={!media.audio.enabled}
        disabled={!media.audio.live}
        title={media.audio.live ? (media.audio.enabled ? 'Mute microphone' : 'Unmute microphone') : 'No microphone'}
        onClick={() => session.media.setEnabled('audio', !media.audio.enabled)}
      >
        <Icon name={media.audio.enabled ? 'mic' : 'micOff'} />
        <span className="ctrl-label">{media.audio.enabled ? 'Mute' : 'Unmute'}</span>
      </button>
      <button
        className={`ctrl${media.video.enabled ? '' : ' off'}`}
        data-testid="toggle-camera"
        aria-pressed={!media.video.enabled}
        disabled={!media.video.live}
        title={media.video.live ? (media.video.enabled ? 'Turn camera off' : 'Turn camera on') : 'No camera'}
        onClick={() => session.media.setEnabled('video', !media.video.enabled)}
      >
        <Icon name={media.video.enabled ? 'cam' : 'camOff'} />
        <span className="ctrl-label">{media.video.enabled ? 'Stop video' : 'Start video'}</span>
      </button>
      {canShare ? (
        <button
          className={`ctrl${media.screen ? ' active' : ''}`}
          data-testid="toggle-screen"
          aria-pressed={media.screen}
          title={media.screen ? 'Stop sharing' : 'Share your screen'}
          onClick={() => {
            if (media.screen) session.media.stopScreenShare();
            else void session.media.startScreenShare().catch(() => {});
          }}
        >
          <Icon name="screen" />
          <span className="ctrl-label">{media.screen ? 'Stop share' : 'Share'}</span>
        </button>
      ) : null}
      <div
        className="ctrl-popover-anchor"
        onKeyDown={(e) => {
          // Escape closes the device picker and gives focus back to its button.
          if (e.key !== 'Escape' || !devicesOpen) return;
          setDevicesOpen(false);
          devicesButton.current?.focus();
        }}
      >
        <button
          ref={devicesButton}
          className={`ctrl${devicesOpen ? ' active' : ''}`}
          data-testid="open-devices"
          aria-expanded={devicesOpen}
          title="Switch camera or microphone"
          onClick={() => setDevicesOpen((v) => !v)}
        >
          <Icon name="settings" />
          <span className="ctrl-label">Devices</span>
        </button>
        {devicesOpen ? (
          <div className="popover" role="dialog" aria-label="Devices">
            <DevicePicker session={session} />
          </div>
        ) : null}
      </div>
      {canRecord ? (
        <button
          className={`ctrl${recording.recording ? ' recording' : ''}`}
          data-testid="toggle-recording"
          aria-pressed={recording.recording}
          title={recording.recording ? 'Stop recording the room' : 'Record the room'}
          onClick={() => void session.toggleRecording()}
        >
          <Icon name="record" />
          <span className="ctrl-label">{recording.recording ? 'Stop rec' : 'Record'}</span>
        </button>
      ) : null}
      <button
        className={`ctrl${chatOpen ? ' active' : ''}`}
        data-testid="toggle-chat"
        aria-pressed={chatOpen}
        title="Chat"
        onClick={onToggleChat}
      >
        <Icon name="chat" />
        <span className="ctrl-label">Chat</span>
        {unread > 0 && !chatOpen ? (
          <span className="badge" data-testid="unread">
            {unread}
          </span>
        ) : null}
      </button>
      <button className="ctrl danger" data-testid="leave-button" title="Leave the call" onClick={onLeave}>
        <Icon name="leave" />
        <span className="ctrl-label">Leave</span>
      </button>
    </nav>
  );
}
