import { useEffect, useRef, useState, type ChangeEvent, type FormEvent, type ReactNode } from 'react';
import { fileUrl, formatBytes, isPreviewableImage, type Room } from '@parley-rtc/client';
import { LIMITS, type ChatEntry, type FileEntry, type LogEntry } from '@parley-rtc/protocol';
import type { PendingChat } from '@parley-rtc/client';
import { describeError, type CallSession } from '../call/CallSession.ts';
import type { Upload } from '../call/Uploads.ts';
import { useLogEntries, usePendingChats, useSelfId, useUploads } from '../hooks/useCall.ts';
import { DirectSendControl, DirectTransferList } from './DirectFiles.tsx';
import { Icon } from './icons.tsx';

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** A shared file: name and size as a download link, and an inline preview for common images. */
function FileLine({ entry, room, selfId, time }: { entry: FileEntry; room: Room; selfId: string | undefined; time: ReactNode }) {
  const mine = entry.from.id === selfId;
  const { file } = entry;
  // The link carries our session credential (?session=), so it is rebuilt after a rejoin; while
  // disconnected there is no valid link.
  const url = selfId === undefined ? undefined : fileUrl(room, file.sha256);
  const preview = isPreviewableImage(file.type);
  return (
    <li className={`chat-msg chat-file-msg${mine ? ' mine' : ''}`} data-testid="chat-file" data-seq={entry.seq} data-sha256={file.sha256}>
      <div className="chat-meta">
        <strong>{mine ? 'You' : entry.from.name}</strong> {time}
      </div>
      <div className="chat-text chat-file">
        {preview && url ? (
          <a href={url} download={file.name} className="chat-file-preview" aria-label={`Download ${file.name}`}>
            <img src={url} alt={file.name} data-testid="chat-file-image" loading="lazy" />
          </a>
        ) : null}
        {url ? (
          <a href={url} download={file.name} className="chat-file-link" data-testid="chat-file-link">
            <Icon name="attach" />
            <span className="chat-file-name" data-testid="chat-file-name">
              {file.name}
            </span>
          </a>
        ) : (
          <span className="chat-file-link">
            <Icon name="attach" />
            <span className="chat-file-name" data-testid="chat-file-name">
              {file.name}
            </span>
          </span>
        )}
        <span className="chat-file-size" data-testid="chat-file-size">
          {formatBytes(file.size)}
        </span>
      </div>
    </li>
  );
}

function UploadRow({ upload, onCancel, onDismiss }: { upload: Upload; onCancel: () => void; onDismiss: () => void }) {
  return (
    <li className={`upload upload-${upload.state}`} data-testid="upload" data-state={upload.state} data-name={upload.name}>
      <div className="upload-line">
        <span className="upload-name">{upload.name}</span>
        <span className="upload-status">
          {upload.state === 'uploading'
            ? `Uploading for the room · ${formatBytes(upload.loaded)} / ${formatBytes(upload.size)}`
            : upload.state === 'done'
              ? 'Shared'
              : 'Failed'}
        </span>
        {upload.state === 'uploading' ? (
          <button
            type="button"
            className="icon-btn small"
            data-testid="upload-cancel"
            onClick={onCancel}
            aria-label={`Cancel uploading ${upload.name}`}
          >
            ×
          </button>
        ) : (
          <button type="button" className="icon-btn small" data-testid="upload-dismiss" onClick={onDismiss} aria-label="Dismiss">
            ×
          </button>
        )}
      </div>
      {upload.state === 'error' ? (
        <p className="error-text" data-testid="upload-error" role="alert">
          {upload.error}
        </p>
      ) : (
        <progress data-testid="upload-progress" max={upload.size || 1} value={upload.state === 'done' ? upload.size || 1 : upload.loaded} />
      )}
    </li>
  );
}

/** A chat message: `seq` once the log has it; `via` says whether it reached us over the data channel first. */
function ChatLine({
  chat,
  seq,
  via,
  selfId,
}: {
  chat: ChatEntry | PendingChat;
  seq: number | undefined;
  via: 'data' | 'log';
  selfId: string | undefined;
}) {
  const mine = chat.from.id === selfId;
  return (
    <li className={`chat-msg${mine ? ' mine' : ''}`} data-testid="chat-message" data-seq={seq} data-via={via} data-id={chat.id}>
      <div className="chat-meta">
        <strong>{mine ? 'You' : chat.from.name}</strong>{' '}
        <time dateTime={new Date(chat.ts).toISOString()}>{timeFormat.format(chat.ts)}</time>
      </div>
      <div className="chat-text">{chat.text}</div>
    </li>
  );
}

function EntryLine({ entry, room, selfId, viaData }: { entry: LogEntry; room: Room; selfId: string | undefined; viaData: boolean }) {
  const time = <time dateTime={new Date(entry.ts).toISOString()}>{timeFormat.format(entry.ts)}</time>;
  if (entry.kind === 'file') return <FileLine entry={entry} room={room} selfId={selfId} time={time} />;
  if (entry.kind === 'chat') return <ChatLine chat={entry} seq={entry.seq} via={viaData ? 'data' : 'log'} selfId={selfId} />;
  return (
    <li className="chat-event" data-testid="chat-event" data-seq={entry.seq}>
      {time} {entry.from.name} {entry.type}
    </li>
  );
}

export function ChatPanel({ session, onClose }: { session: CallSession; onClose: () => void }) {
  const entries = useLogEntries(session);
  const uploads = useUploads(session);
  const pending = usePendingChats(session);
  const [route, setRoute] = useState('');
  const selfId = useSelfId(session);
  const fileInput = useRef<HTMLInputElement>(null);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const listRef = useRef<HTMLOListElement>(null);

  useEffect(() => {
    const el = listRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [entries.length, pending.length]);

  const send = (e: FormEvent) => {
    e.preventDefault();
    const value = text.trim();
    if (!value || sending) return;
    setSending(true);
    setError(null);
    session.chat
      .send(value)
      .then(() => setText(''))
      .catch((err: unknown) => setError(describeError(err)))
      .finally(() => setSending(false));
  };

  const pickFiles = (e: ChangeEvent<HTMLInputElement>) => {
    const files = [...(e.target.files ?? [])];
    e.target.value = ''; // so choosing the same file again fires change again
    for (const file of files) session.uploads.start(file);
  };

  return (
    <aside className="chat" data-testid="chat-panel" aria-label="Chat">
      <header className="chat-header">
        <h2>Chat</h2>
        <button className="icon-btn" onClick={onClose} aria-label="Close chat">
          ×
        </button>
      </header>
      {session.room.log.truncated ? <p className="chat-hint">Older messages are not shown.</p> : null}
      <ol className="chat-list" ref={listRef}>
        {entries.length === 0 && pending.length === 0 ? <li className="chat-empty">No messages yet.</li> : null}
        {entries.map((entry) => (
          <EntryLine
            key={entry.seq}
            entry={entry}
            room={session.room}
            selfId={selfId}
            viaData={entry.kind === 'chat' && session.chat.arrivedOverData(entry)}
          />
        ))}
        {pending.map((chat) => (
          <ChatLine
            key={`${chat.from.id} ${chat.id}`}
            chat={chat}
            seq={undefined}
            via={chat.from.id === selfId ? 'log' : 'data'}
            selfId={selfId}
          />
        ))}
      </ol>
      <DirectTransferList session={session} />
      {uploads.length > 0 ? (
        <ul className="uploads" data-testid="uploads" aria-label="Uploads">
          {uploads.map((u) => (
            <UploadRow
              key={u.id}
              upload={u}
              onCancel={() => session.uploads.cancel(u.id)}
              onDismiss={() => session.uploads.dismiss(u.id)}
            />
          ))}
        </ul>
      ) : null}
      <DirectSendControl session={session} onRoute={setRoute} />
      <p className="chat-hint" data-testid="direct-route" role="status">
        {route}
      </p>
      {error ? (
        <p className="error-text" data-testid="chat-error">
          {error}
        </p>
      ) : null}
      <form className="chat-form" onSubmit={send}>
        <input ref={fileInput} type="file" multiple hidden data-testid="file-input" onChange={pickFiles} tabIndex={-1} />
        <button
          className="icon-btn attach"
          type="button"
          data-testid="chat-attach"
          disabled={selfId === undefined}
          onClick={() => fileInput.current?.click()}
          aria-label="Share a file"
          title="Share a file"
        >
          <Icon name="attach" />
        </button>
        <input
          data-testid="chat-input"
          aria-label="Message"
          placeholder="Message everyone"
          value={text}
          maxLength={LIMITS.chatText}
          onChange={(e) => setText(e.target.value)}
        />
        <button className="icon-btn send" type="submit" data-testid="chat-send" disabled={!text.trim() || sending} aria-label="Send">
          <Icon name="send" />
        </button>
      </form>
    </aside>
  );
}
