import { useRef, useState, type ChangeEvent } from 'react';
import { formatBytes, type RemotePeer } from '@parley-rtc/client';
import type { DirectTransfer } from '../call/DirectFiles.ts';
import type { CallSession } from '../call/CallSession.ts';
import { useDirectTransfers, usePeers } from '../hooks/useCall.ts';

const ENDED: Record<string, string> = {
  cancelled: 'Cancelled',
  declined: 'Declined',
  'too-large': 'Too large for the receiver',
  'hash-mismatch': 'Failed: the file arrived damaged',
  timeout: 'Failed: the connection did not come back',
  error: 'Failed',
};

function status(t: DirectTransfer): string {
  const progress = `${formatBytes(t.loaded)} / ${formatBytes(t.size)}`;
  const mine = t.direction === 'send';
  switch (t.state) {
    case 'offered':
      return mine ? `Waiting for ${t.peerName} to accept` : `${t.peerName} wants to send you this file (${formatBytes(t.size)})`;
    case 'transferring':
      return mine ? `Sending directly to ${t.peerName} · ${progress}` : `Receiving from ${t.peerName} · ${progress}`;
    case 'paused':
      return `Connection lost; waiting to resume · ${progress}`;
    case 'verifying':
      return 'Checking the file…';
    case 'done':
      return mine ? `Sent to ${t.peerName}` : `Received from ${t.peerName}`;
    default:
      return ENDED[t.reason ?? 'error'] ?? 'Failed';
  }
}

function TransferRow({ t, session }: { t: DirectTransfer; session: CallSession }) {
  const store = session.directFiles;
  const active =
    t.state === 'transferring' || t.state === 'paused' || t.state === 'verifying' || (t.state === 'offered' && t.direction === 'send');
  const finished = t.state === 'done' || t.state === 'cancelled' || t.state === 'failed';
  const verb = t.direction === 'send' ? `Sending ${t.name} to ${t.peerName}` : `Receiving ${t.name} from ${t.peerName}`;
  return (
    <li
      className={`upload direct direct-${t.state}`}
      data-testid="direct-transfer"
      data-direction={t.direction}
      data-state={t.state}
      data-name={t.name}
      data-loaded={t.loaded}
    >
      <div className="upload-line">
        <span className="upload-name">{t.name}</span>
        {t.state === 'offered' && t.direction === 'receive' ? (
          <>
            <button
              type="button"
              className="btn small"
              data-testid="direct-accept"
              onClick={() => store.accept(t.key)}
              aria-label={`Accept ${t.name}`}
            >
              Accept
            </button>
            <button
              type="button"
              className="btn small"
              data-testid="direct-decline"
              onClick={() => store.decline(t.key)}
              aria-label={`Decline ${t.name}`}
            >
              Decline
            </button>
          </>
        ) : null}
        {active ? (
          <button
            type="button"
            className="icon-btn small"
            data-testid="direct-cancel"
            onClick={() => store.cancel(t.key)}
            aria-label={`Cancel ${verb}`}
          >
            ×
          </button>
        ) : null}
        {finished ? (
          <button
            type="button"
            className="icon-btn small"
            data-testid="direct-dismiss"
            onClick={() => store.dismiss(t.key)}
            aria-label={`Dismiss ${t.name}`}
          >
            ×
          </button>
        ) : null}
      </div>
      <span className="upload-status" data-testid="direct-status">
        {status(t)}
      </span>
      {t.url ? (
        <a href={t.url} download={t.name} className="chat-file-link" data-testid="direct-file-link">
          Save {t.name}
        </a>
      ) : null}
      {t.state === 'transferring' || t.state === 'paused' || t.state === 'verifying' ? (
        <progress data-testid="direct-progress" max={t.size || 1} value={t.loaded} aria-label={verb} />
      ) : null}
    </li>
  );
}

/** Direct transfers in progress (sent and received), with accept, decline and cancel. */
export function DirectTransferList({ session }: { session: CallSession }) {
  const items = useDirectTransfers(session);
  if (items.length === 0) return null;
  return (
    <ul className="uploads" data-testid="direct-transfers" aria-label="Direct file transfers">
      {items.map((t) => (
        <TransferRow key={t.key} t={t} session={session} />
      ))}
    </ul>
  );
}

/** "Send a file to one person": picks the participant, then the file; says whether it goes directly or as a room upload. */
export function DirectSendControl({ session, onRoute }: { session: CallSession; onRoute: (message: string) => void }) {
  const peers: RemotePeer[] = usePeers(session);
  const [to, setTo] = useState('');
  const input = useRef<HTMLInputElement>(null);
  const target = peers.find((p) => p.id === to) ?? peers[0];
  if (!target) return null;

  const picked = (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    const route = session.directFiles.send(target.id, file);
    onRoute(route === 'direct' ? `Sending directly to ${target.name}` : 'Uploading for the room');
  };

  return (
    <div className="direct-send">
      <label htmlFor="direct-to">Send a file to</label>
      <select id="direct-to" data-testid="direct-to" value={target.id} onChange={(e) => setTo(e.target.value)}>
        {peers.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </select>
      <input ref={input} type="file" hidden data-testid="direct-file-input" onChange={picked} tabIndex={-1} />
      <button type="button" className="btn small" data-testid="direct-send" onClick={() => input.current?.click()}>
        Choose file…
      </button>
    </div>
  );
}
