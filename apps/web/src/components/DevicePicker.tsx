import { useState } from 'react';
import type { DeviceKind } from '@parley-rtc/client';
import type { CallSession } from '../call/CallSession.ts';
import { useDevices, useLocalMedia } from '../hooks/useCall.ts';

const KINDS: Array<{ kind: DeviceKind; input: MediaDeviceKind; label: string }> = [
  { kind: 'video', input: 'videoinput', label: 'Camera' },
  { kind: 'audio', input: 'audioinput', label: 'Microphone' },
];

/** Camera and microphone selection; switching during a call swaps the sender's track in place. */
export function DevicePicker({ session }: { session: CallSession }) {
  const devices = useDevices(session);
  const media = useLocalMedia(session);
  const [error, setError] = useState<string | null>(null);

  return (
    <div className="device-picker" data-testid="device-picker">
      {KINDS.map(({ kind, input, label }) => {
        const options = devices.filter((d) => d.kind === input && d.deviceId !== '');
        const current = media[kind].deviceId ?? '';
        return (
          <label key={kind} className="field">
            <span>{label}</span>
            <select
              data-testid={`select-${kind}`}
              value={options.some((d) => d.deviceId === current) ? current : ''}
              disabled={options.length === 0}
              onChange={(e) => {
                setError(null);
                const id = e.target.value;
                const start = media[kind].live ? session.media.switchDevice(kind, id) : session.media.start({ [kind]: id });
                void Promise.resolve(start).catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)));
              }}
            >
              {options.length === 0 ? <option value="">No {label.toLowerCase()} available</option> : null}
              {options.length > 0 && !options.some((d) => d.deviceId === current) ? <option value="">Choose…</option> : null}
              {options.map((d, i) => (
                <option key={d.deviceId} value={d.deviceId}>
                  {d.label || `${label} ${i + 1}`}
                </option>
              ))}
            </select>
          </label>
        );
      })}
      {error ? <p className="error-text">{error}</p> : null}
    </div>
  );
}
