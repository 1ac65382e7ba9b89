import { useEffect, useState } from 'react';
import { roomNameSchema } from '@parley-rtc/protocol';
import { CallSession } from '../call/CallSession.ts';
import { CallView } from '../components/CallView.tsx';
import { JoinScreen } from '../components/JoinScreen.tsx';
import { useStage } from '../hooks/useCall.ts';
import { navigate, type RouteProps } from '../router.ts';

/** `/room/<name>`: the lobby, then the call. The session lives exactly as long as the page. */
export default function RoomPage({ params }: RouteProps) {
  const parsed = roomNameSchema.safeParse(params['name'] ?? '');
  const roomName = parsed.success ? parsed.data : null;
  const [session, setSession] = useState<CallSession | null>(null);

  useEffect(() => {
    if (!roomName) return undefined;
    // On a server with auth, the link carries the member's access token: /room/<name>?token=…
    const token = new URLSearchParams(window.location.search).get('token') ?? undefined;
    const s = new CallSession(roomName, window.location.origin, token);
    setSession(s);
    // After a reload during a call, join again at once (within the grace it is the same seat).
    void s
      .startMedia()
      .then(() => (s.resumeName ? s.join(s.resumeName) : undefined))
      .catch((err: unknown) => console.warn('[parley] rejoin after reload failed', err));
    document.title = `${roomName} · Parley`;
    return () => {
      s.close();
      document.title = 'Parley';
    };
  }, [roomName]);

  if (!roomName) {
    return (
      <main className="center-page">
        <div className="card">
          <h1>Invalid room name</h1>
          <p>Room names use letters, digits, “-”, “_” and “.”.</p>
          <button className="btn primary" onClick={() => navigate('/')}>
            Back
          </button>
        </div>
      </main>
    );
  }
  return session ? <RoomStages session={session} /> : null;
}

function RoomStages({ session }: { session: CallSession }) {
  const stage = useStage(session);
  const [name, setName] = useState('');
  if (stage === 'call') {
    return (
      <CallView
        session={session}
        selfName={name || session.room.self?.name || 'You'}
        onLeave={() => {
          void session.leave().finally(() => navigate('/'));
        }}
      />
    );
  }
  return <JoinScreen session={session} onJoined={setName} />;
}
