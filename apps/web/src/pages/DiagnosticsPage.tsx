import { useCallback, useEffect, useRef, useState } from 'react';
import { diagnosticsResponseSchema, type DiagnosticsResponse } from '@parley-rtc/protocol';
import type { RouteProps } from '../router.ts';
import { diagnose, turnProbes, type Check, type Diagnosis, type DiagnosisInput, type RelayProbe } from '../diagnostics/interpret.ts';
import { gatherCandidates } from '../diagnostics/probe.ts';

const GATHER_TIMEOUT_MS = 10_000;

type State =
  { phase: 'running'; step: string } | { phase: 'error'; message: string } | { phase: 'done'; diagnosis: Diagnosis; input: DiagnosisInput };

async function fetchDiagnostics(signal: AbortSignal): Promise<{ diagnostics: DiagnosticsResponse; clockSkewMs: number }> {
  const params = new URLSearchParams(location.search);
  const token = params.get('token');
  const room = params.get('room');
  const url = `/api/diagnostics${room ? `?room=${encodeURIComponent(room)}` : ''}`;
  const sent = Date.now();
  const res = await fetch(url, { signal, cache: 'no-store', headers: token ? { authorization: `Bearer ${token}` } : {} });
  const received = Date.now();
  const body: unknown = await res.json().catch(() => undefined);
  if (res.status === 401 || res.status === 403) {
    throw new Error('This server needs an access token for the check: open this page with ?token=… (and ?room=… for a room token).');
  }
  if (!res.ok) throw new Error(`The server answered ${res.status}.`);
  const parsed = diagnosticsResponseSchema.safeParse(body);
  if (!parsed.success) throw new Error('The server sent an answer this page does not understand (is it a different Parley version?).');
  return { diagnostics: parsed.data, clockSkewMs: (sent + received) / 2 - parsed.data.serverTime };
}

async function tryMedia(): Promise<DiagnosisInput['media']> {
  // Besides testing the devices, a media grant makes browsers reveal local addresses to ICE.
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    for (const track of stream.getTracks()) track.stop();
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message || err.name : String(err) };
  }
}

function CheckRow({ label, check, testId }: { label: string; check: Check; testId: string }) {
  const icon = check.verdict === 'works' ? '✅' : check.verdict === 'blocked' ? '❌' : '➖';
  return (
    <li data-testid={testId} data-verdict={check.verdict} className={`diag-check diag-${check.verdict}`}>
      <span aria-hidden="true">{icon}</span> <strong>{label}</strong>: {check.detail}
    </li>
  );
}

/** Connectivity check: can this browser reach the configured STUN/TURN servers, over UDP and TCP? */
export default function DiagnosticsPage(_props: RouteProps) {
  const [state, setState] = useState<State>({ phase: 'running', step: 'starting' });
  const running = useRef<AbortController | null>(null);

  const run = useCallback(async () => {
    running.current?.abort();
    const controller = new AbortController();
    running.current = controller;
    const { signal } = controller;
    const update = (next: State) => {
      if (!signal.aborted) setState(next);
    };
    try {
      update({ phase: 'running', step: 'Testing camera and microphone…' });
      const media = await tryMedia();
      update({ phase: 'running', step: 'Asking the server for its ICE servers…' });
      const { diagnostics, clockSkewMs } = await fetchDiagnostics(signal);
      update({ phase: 'running', step: 'Gathering network candidates…' });
      const probes = turnProbes(diagnostics.iceServers);
      const [all, ...relayResults] = await Promise.all([
        gatherCandidates({ iceServers: diagnostics.iceServers }, GATHER_TIMEOUT_MS, signal),
        ...probes.map((p) => gatherCandidates({ iceServers: [p.server], iceTransportPolicy: 'relay' }, GATHER_TIMEOUT_MS, signal)),
      ]);
      if (signal.aborted || !all) return;
      const relays: RelayProbe[] = probes.map((p, i) => ({
        url: p.url,
        kind: p.kind,
        result: relayResults[i] ?? { candidates: [], errors: [], timedOut: true },
      }));
      const input: DiagnosisInput = { diagnostics, clockSkewMs, all, relays, media };
      update({ phase: 'done', diagnosis: diagnose(input), input });
    } catch (err) {
      if (!signal.aborted) update({ phase: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  }, []);

  useEffect(() => {
    void run();
    return () => running.current?.abort();
  }, [run]);

  return (
    <main className="center-page">
      <div className="card diag-card" data-testid="diagnostics" data-phase={state.phase}>
        <h1>Connection check</h1>
        <p className="lead">Checks whether calls can connect from this network: UDP, TCP and the TURN relay of this server.</p>
        {state.phase === 'running' ? (
          <p data-testid="diag-progress" aria-busy="true">
            {state.step}
          </p>
        ) : null}
        {state.phase === 'error' ? (
          <p className="error-text" data-testid="diag-error">
            {state.message}
          </p>
        ) : null}
        {state.phase === 'done' ? <Results diagnosis={state.diagnosis} input={state.input} /> : null}
        <div style={{ display: 'flex', gap: 12 }}>
          <button className="btn primary" onClick={() => void run()} disabled={state.phase === 'running'} data-testid="diag-run">
            Run again
          </button>
          <a className="btn" href="/">
            Home
          </a>
        </div>
      </div>
    </main>
  );
}

function Results({ diagnosis, input }: { diagnosis: Diagnosis; input: DiagnosisInput }) {
  const d = input.diagnostics;
  const skewSec = Math.round(input.clockSkewMs / 1000);
  return (
    <>
      <ul className="diag-checks">
        <CheckRow label="UDP" check={diagnosis.udp} testId="diag-udp" />
        <CheckRow label="TCP" check={diagnosis.tcp} testId="diag-tcp" />
        <CheckRow label="TURN relay" check={diagnosis.relay} testId="diag-relay" />
      </ul>
      <h2>What this means</h2>
      <ul className="diag-advice">
        {diagnosis.advice.map((a) => (
          <li key={a.code} data-testid="diag-advice" data-code={a.code} data-level={a.level}>
            {a.text}
          </li>
        ))}
      </ul>
      <details>
        <summary>Details</summary>
        <ul className="diag-details" data-testid="diag-details">
          <li>STUN: {d.configured.stun.join(', ') || 'none'}</li>
          <li>TURN over UDP: {d.configured.turnUdp.join(', ') || 'none'}</li>
          <li>TURN over TCP: {d.configured.turnTcp.join(', ') || 'none'}</li>
          <li>TURN over TLS: {d.configured.turns.join(', ') || 'none'}</li>
          <li>Clock difference with the server: {skewSec === 0 ? 'none' : `${Math.abs(skewSec)} s ${skewSec > 0 ? 'ahead' : 'behind'}`}</li>
          <li>Media bind address on the server: {d.server.mediaBindAddress ?? 'all interfaces'}</li>
          <li>
            Candidates without restriction: {input.all.candidates.map((c) => `${c.type}/${c.protocol}`).join(', ') || 'none'}
            {input.all.timedOut ? ' (gathering timed out)' : ''}
          </li>
          {input.relays.map((r) => (
            <li key={r.url} data-testid="diag-probe" data-url={r.url} data-relay={r.result.candidates.some((c) => c.type === 'relay')}>
              {r.url}: {r.result.candidates.filter((c) => c.type === 'relay').length} relay candidate(s)
              {r.result.errors.length ? `; errors: ${r.result.errors.map((e) => `${e.code} ${e.text}`).join('; ')}` : ''}
              {r.result.timedOut ? ' (timed out)' : ''}
            </li>
          ))}
        </ul>
      </details>
    </>
  );
}
