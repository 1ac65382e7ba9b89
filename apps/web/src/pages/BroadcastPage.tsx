import { useEffect, useRef, useState } from 'react';
import { z } from 'zod';
import { WhipPublisher } from '@parley-rtc/client';
import type { RouteProps } from '../router.ts';

type Source = 'camera' | 'screen';

const recordingResponse = z.object({ recording: z.object({ id: z.string() }) });
const errorResponse = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** Publish the camera or the screen to a stream over WHIP; anyone can watch it on /watch. */
export default function BroadcastPage({ params }: RouteProps) {
  const [name, setName] = useState(params['stream'] ?? `live-${Math.random().toString(36).slice(2, 7)}`);
  const [source, setSource] = useState<Source>('camera');
  const [status, setStatus] = useState('idle');
  const [error, setError] = useState<string | null>(null);
  const [recording, setRecording] = useState<string | null>(null);
  const preview = useRef<HTMLVideoElement>(null);
  const media = useRef<MediaStream | null>(null);
  const publisher = useRef<WhipPublisher | null>(null);

  const stop = async () => {
    await publisher.current?.close();
    publisher.current = null;
    media.current?.getTracks().forEach((t) => t.stop());
    media.current = null;
    if (preview.current) preview.current.srcObject = null;
    setStatus('idle');
    setRecording(null);
  };

  useEffect(() => () => void stop(), []);

  const start = async () => {
    setError(null);
    setStatus('starting');
    try {
      const stream =
        source === 'camera'
          ? await navigator.mediaDevices.getUserMedia({ video: true, audio: true })
          : await navigator.mediaDevices.getDisplayMedia({ video: true, audio: true });
      media.current = stream;
      if (preview.current) preview.current.srcObject = stream;
      const pub = await WhipPublisher.publish(`/whip/${encodeURIComponent(name)}`, stream);
      publisher.current = pub;
      pub.pc.addEventListener('connectionstatechange', () => setStatus(pub.pc.connectionState));
      setStatus('connecting');
    } catch (err) {
      await stop();
      setError((err as Error).message);
    }
  };

  const toggleRecording = async () => {
    try {
      if (recording) {
        await fetch(`/api/recordings/${recording}`, { method: 'DELETE' });
        setRecording(null);
      } else {
        const res = await fetch('/api/recordings', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ stream: name }),
        });
        const body: unknown = await res.json();
        if (!res.ok) {
          const error = errorResponse.safeParse(body);
          throw new Error(error.success ? error.data.error.message : `recording failed (${res.status})`);
        }
        const parsed = recordingResponse.safeParse(body);
        if (!parsed.success) throw new Error('the server answered with an unexpected recording');
        setRecording(parsed.data.recording.id);
      }
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const live = status !== 'idle' && status !== 'starting';
  return (
    <main className="center-page">
      <div className="card" data-testid="broadcast">
        <h1>Broadcast</h1>
        <label className="field">
          Stream name
          <input
            data-testid="broadcast-name"
            value={name}
            onChange={(e) => setName(e.target.value.replace(/[^A-Za-z0-9_-]/g, ''))}
            disabled={status !== 'idle'}
            maxLength={64}
          />
        </label>
        <label className="field">
          Source
          <select
            value={source}
            onChange={(e) => setSource(e.target.value === 'screen' ? 'screen' : 'camera')}
            disabled={status !== 'idle'}
          >
            <option value="camera">Camera and microphone</option>
            <option value="screen">Screen</option>
          </select>
        </label>
        <video ref={preview} autoPlay playsInline muted style={{ width: '100%', background: '#000', borderRadius: 10 }} />
        <p className="lead" data-testid="broadcast-status">
          {status}
          {live ? (
            <>
              {' '}
              — watch at <a href={`/watch?stream=${encodeURIComponent(name)}`}>/watch?stream={name}</a>
            </>
          ) : null}
        </p>
        {error ? <p className="error-text">{error}</p> : null}
        <div style={{ display: 'flex', gap: 12 }}>
          {status === 'idle' ? (
            <button className="btn primary" onClick={() => void start()} data-testid="broadcast-start">
              Go live
            </button>
          ) : (
            <button className="btn" onClick={() => void stop()} data-testid="broadcast-stop">
              Stop
            </button>
          )}
          <button className="btn" onClick={() => void toggleRecording()} disabled={!live} data-testid="broadcast-record">
            {recording ? 'Stop recording' : 'Record'}
          </button>
        </div>
      </div>
    </main>
  );
}
