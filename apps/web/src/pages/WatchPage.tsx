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

/** Watch a server stream over WHEP (test pattern, files, live WHIP streams, recordings). */
export default function WatchPage({ params }: RouteProps) {
  const [streams, setStreams] = useState<StreamItem[]>([]);
  const [selected, setSelected] = useState(params['stream'] ?? new URLSearchParams(location.search).get('stream') ?? 'test');
  const [status, setStatus] = useState('idle');
  const [error, setError] = useState<string | null>(null);
  const video = useRef<HTMLVideoElement>(null);
  const player = useRef<WhepPlayer | null>(null);

  useEffect(() => {
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
  }, []);

  useEffect(() => () => void player.current?.close(), []);

  const play = async () => {
    await player.current?.close();
    player.current = null;
    setError(null);
    setStatus('connecting');
    try {
      const p = await WhepPlayer.play(`/whep/${encodeURIComponent(selected)}`);
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
