import { useState, type FormEvent } from 'react';
import { roomNameSchema } from '@parley-rtc/protocol';
import { navigate, roomPath, type RouteProps } from '../router.ts';

function randomRoom(): string {
  const words = ['amber', 'birch', 'cedar', 'delta', 'ember', 'fjord', 'grove', 'harbor', 'iris', 'juniper', 'kestrel', 'lumen'];
  const pick = () => words[Math.floor(Math.random() * words.length)] ?? 'room';
  return `${pick()}-${pick()}-${Math.floor(Math.random() * 900 + 100)}`;
}

export default function HomePage(_props: RouteProps) {
  const [room, setRoom] = useState('');
  const [error, setError] = useState<string | null>(null);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const parsed = roomNameSchema.safeParse(room.trim() || randomRoom());
    if (!parsed.success) {
      setError(parsed.error.issues[0]?.message ?? 'invalid room name');
      return;
    }
    navigate(roomPath(parsed.data));
  };

  return (
    <main className="center-page">
      <form className="card home-card" onSubmit={submit} data-testid="home">
        <div className="brand">
          <img src="/icon.svg" alt="" width="48" height="48" />
          <h1>Parley</h1>
        </div>
        <p className="lead">Video calls and chat on your own server. No account needed.</p>
        <label className="field">
          <span>Room name</span>
          <input
            data-testid="room-input"
            value={room}
            onChange={(e) => setRoom(e.target.value)}
            placeholder="leave empty for a new random room"
            maxLength={64}
            autoFocus
          />
        </label>
        {error ? <p className="error-text">{error}</p> : null}
        <button className="btn primary wide" type="submit" data-testid="go-button">
          {room.trim() ? 'Go to room' : 'Start a new room'}
        </button>
        <p className="lead home-links">
          Trouble connecting?{' '}
          <a
            href="/diagnostics"
            data-testid="diagnostics-link"
            onClick={(e) => {
              e.preventDefault();
              navigate('/diagnostics');
            }}
          >
            Check your connection
          </a>
        </p>
      </form>
    </main>
  );
}
