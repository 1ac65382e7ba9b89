import { useCallback, useEffect, useState } from 'react';
import { createServerClient } from '@parley-rtc/protocol/serverClient';
import type { RoomRecording } from '@parley-rtc/protocol/serverApi';

const KEY_STORAGE = 'parley.adminKey';

/** Admins: every room recording on this server (server API with the admin key or an admin token), with downloads. */
export default function RecordingsPage() {
  const [key, setKey] = useState(() => sessionStorage.getItem(KEY_STORAGE) ?? '');
  const [recordings, setRecordings] = useState<RoomRecording[]>([]);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    if (!key) return;
    try {
      const res = await fetch('/api/v1/recordings', { headers: { authorization: `Bearer ${key}` } });
      const body = (await res.json()) as { recordings?: RoomRecording[]; error?: { message: string } };
      if (!res.ok) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
      setRecordings(body.recordings ?? []);
      setError(null);
    } catch (err) {
      setError((err as Error).message);
    }
  }, [key]);

  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), 3000);
    return () => clearInterval(timer);
  }, [load]);

  const download = async (r: RoomRecording, name: string) => {
    const res = await fetch(`/api/v1/rooms/${encodeURIComponent(r.room)}/recordings/${r.id}/files/${name}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    if (!res.ok) return setError(`download failed: HTTP ${res.status}`);
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = `${r.id}-${name}`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  };

  const remove = async (r: RoomRecording) => {
    const client = createServerClient({ url: location.origin, bearer: key });
    await client.deleteRecording(r.room, r.id).catch((err: Error) => setError(err.message));
    void load();
  };

  return (
    <main className="center-page">
      <div className="card wide" data-testid="recordings">
        <h1>Recordings</h1>
        <label className="field">
          Admin key or admin token
          <input
            type="password"
            value={key}
            data-testid="admin-key"
            onChange={(e) => {
              setKey(e.target.value);
              sessionStorage.setItem(KEY_STORAGE, e.target.value);
            }}
          />
        </label>
        {error ? <p className="error-text">{error}</p> : null}
        <table className="recordings-table">
          <thead>
            <tr>
              <th>Room</th>
              <th>Started</th>
              <th>Length</th>
              <th>State</th>
              <th>Files</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {recordings.map((r) => (
              <tr key={r.id} data-testid="recording-row">
                <td>{r.room}</td>
                <td>{new Date(r.startedAt).toLocaleString()}</td>
                <td>{Math.round(r.durationMs / 1000)} s</td>
                <td title={r.error}>
                  {r.state}
                  {r.state === 'composing' ? ` ${Math.round(r.progress * 100)} %` : ''}
                  {r.error ? ' ⚠' : ''}
                </td>
                <td>
                  {r.files.map((f) => (
                    <button key={f.name} className="btn ghost small" onClick={() => void download(r, f.name)}>
                      {f.name}
                    </button>
                  ))}
                  {r.stream ? <a href={`/watch/${encodeURIComponent(r.stream)}`}>watch</a> : null}
                </td>
                <td>
                  <button className="btn small" onClick={() => void remove(r)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </main>
  );
}
