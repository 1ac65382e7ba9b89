import type { CallSession } from '../call/CallSession.ts';
import { useNotices } from '../hooks/useCall.ts';

export function NoticeList({ session }: { session: CallSession }) {
  const notices = useNotices(session);
  return (
    <div className="notices" role="status" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} className={`notice notice-${n.level}`} data-testid="notice">
          <span>{n.text}</span>
          <button className="notice-close" aria-label="Dismiss" onClick={() => session.notices.dismiss(n.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
