import { useEffect, useRef, useState } from 'react';
import { WhepPlayer } from '@parley-rtc/client';
import type { RouteProps } from '../router.ts';

interface StreamItem {
  name: string;
  kind: string;
  live: boolean;
  viewers: number;
}

function isStreamList(v: unknown): v is { streams: StreamItem[] } {
  return typeof v === 'object' && v !== null && 'streams' in v && Array.isArray(v.streams);
}

/**
 * The WHEP endpoint of a room view (`/watch/room/:room`): the active speaker, or one member with
 * `?member=<id>` (its screen with `&source=screen`); `?token=` is passed on when auth is on.
 */
export function roomWatchEndpoint(room: string, query: URLSearchParams): string {
  const member = query.get('member');
  const pass = new URLSearchParams();
  for (const key of ['token', 'source']) {
    const value = query.get(key);
    if (value) pass.set(key, value);
  }
  const path = `/whep/rooms/${encodeURIComponent(room)}${member ? `/${encodeURIComponent(member)}` : ''}`;
  return pass.size > 0 ? `${path}?${pass.toString()}` : path;
}

/**
 * Watch a server stream over WHEP (test pattern, files, live WHIP streams, recordings), or a room
 * (`/watch/room/:room`, linked from the call view).
 */
export default function WatchPage({ params }: RouteProps) {
  const room = params['room'];
  const [streams, setStreams] = useState<StreamItem[]>([]);
  const [selected, setSelected] = useState(params['stream'] ?? new URLSearchParams(location.search).get('stream') ?? 'test');
  const [status, setStatus] = useState('idle');
  const [error, setError] = useState<string | null>(null);
  const video = useRef<HTMLVideoElement>(null);
  const player = useRef<WhepPlayer | null>(null);

  useEffect(() => {
    if (room !== undefined) return;
    let stop = false;
    const load = async () => {
      try {
        const res = await fetch('/api/streams');
        const body: unknown = await res.json();
        if (!stop && isStreamList(body)) setStreams(body.streams);
      } catch {
        // server unreachable: keep the last list
      }
    };
    void load();
    const timer = setInterval(() => void load(), 5000);
    return () => {
      stop = true;
      clearInterval(timer);
    };
  }, [room]);

  useEffect(() => () => void player.current?.close(), []);

  const play = async () => {
    await player.current?.close();
    player.current = null;
    setError(null);
    setStatus('connecting');
    try {
      const endpoint =
        room !== undefined ? roomWatchEndpoint(room, new URLSearchParams(location.search)) : `/whep/${encodeURIComponent(selected)}`;
      const p = await WhepPlayer.play(endpoint);
      player.current = p;
      p.pc.addEventListener('connectionstatechange', () => setStatus(p.pc.connectionState));
      if (video.current) video.current.srcObject = p.stream;
    } catch (err) {
      setStatus('idle');
      setError((err as Error).message);
    }
  };

  const stop = async () => {
    await player.current?.close();
    player.current = null;
    if (video.current) video.current.srcObject = null;
    setStatus('idle');
  };

  return (
    <main className="center-page">
      <div className="card" data-testid="watch">
        <h1>Watch</h1>
        {room !== undefined ? (
          <p className="lead" data-testid="watch-room">
            Room <strong>{room}</strong>:{' '}
            {new URLSearchParams(location.search).get('member') ? 'one member' : 'the active speaker, with everyone’s audio'}
          </p>
        ) : (
          <label className="field">
            Stream
            <select value={selected} onChange={(e) => setSelected(e.target.value)} data-testid="stream-picker">
              {streams.some((s) => s.name === selected) ? null : <option value={selected}>{selected}</option>}
              {streams.map((s) => (
                <option key={s.name} value={s.name}>
                  {s.name} ({s.kind}, {s.viewers} watching)
                </option>
              ))}
            </select>
          </label>
        )}
        <video
          ref={video}
          autoPlay
          playsInline
          muted
          controls
          style={{ width: '100%', background: '#000', borderRadius: 10 }}
          data-testid="watch-video"
        />
        <p className="lead" data-testid="watch-status">
          {status}
        </p>
        {error ? <p className="error-text">{error}</p> : null}
        <div style={{ display: 'flex', gap: 12 }}>
          <button className="btn primary" onClick={() => void play()} data-testid="watch-play">
            Play
          </button>
          <button className="btn" onClick={() => void stop()} disabled={status === 'idle'}>
            Stop
          </button>
        </div>
      </div>
    </main>
  );
}
