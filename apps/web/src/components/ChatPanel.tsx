import { useEffect, useRef, useState, type FormEvent } from 'react';
import { LIMITS, type LogEntry } from '@parley/protocol';
import { describeError, type CallSession } from '../call/CallSession.ts';
import { useLogEntries } from '../hooks/useCall.ts';
import { Icon } from './icons.tsx';

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

function EntryLine({ entry, selfId }: { entry: LogEntry; selfId: string | undefined }) {
  const time = <time dateTime={new Date(entry.ts).toISOString()}>{timeFormat.format(entry.ts)}</time>;
  if (entry.kind === 'chat') {
    const mine = entry.from.id === selfId;
    return (
      <li className={`chat-msg${mine ? ' mine' : ''}`} data-testid="chat-message" data-seq={entry.seq}>
        <div className="chat-meta">
          <strong>{mine ? 'You' : entry.from.name}</strong> {time}
        </div>
        <div className="chat-text">{entry.text}</div>
      </li>
    );
  }
  const what = entry.kind === 'file' ? `shared ${entry.file.name}` : `${entry.type}`;
  return (
    <li className="chat-event" data-testid="chat-event" data-seq={entry.seq}>
      {time} {entry.from.name} {what}
    </li>
  );
}

export function ChatPanel({ session, onClose }: { session: CallSession; onClose: () => void }) {
  const entries = useLogEntries(session);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const listRef = useRef<HTMLOListElement>(null);

  useEffect(() => {
    const el = listRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [entries.length]);

  const send = (e: FormEvent) => {
    e.preventDefault();
    const value = text.trim();
    if (!value || sending) return;
    setSending(true);
    setError(null);
    session.room
      .sendChat(value)
      .then(() => setText(''))
      .catch((err: unknown) => setError(describeError(err)))
      .finally(() => setSending(false));
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
        {entries.length === 0 ? <li className="chat-empty">No messages yet.</li> : null}
        {entries.map((entry) => (
          <EntryLine key={entry.seq} entry={entry} selfId={session.room.self?.id} />
        ))}
      </ol>
      {error ? <p className="error-text" data-testid="chat-error">{error}</p> : null}
      <form className="chat-form" onSubmit={send}>
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
