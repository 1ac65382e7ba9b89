import type { GatherError, GatheredCandidate, ProbeResult } from './interpret.ts';
import { parseCandidate } from './interpret.ts';

/**
 * Gathers ICE candidates with a throwaway RTCPeerConnection (one data channel, never connected)
 * and closes it. Resolves when gathering completes, when `signal` aborts, or after `timeoutMs`.
 */
export async function gatherCandidates(config: RTCConfiguration, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  const pc = new RTCPeerConnection(config);
  const candidates: GatheredCandidate[] = [];
  const errors: GatherError[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  try {
    const completed = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      onAbort = () => resolve(false);
      signal?.addEventListener('abort', onAbort, { once: true });
      pc.onicecandidate = (event) => {
        if (event.candidate === null) resolve(true);
        else if (event.candidate.candidate) candidates.push(parseCandidate(event.candidate.candidate));
      };
      pc.onicegatheringstatechange = () => {
        if (pc.iceGatheringState === 'complete') resolve(true);
      };
      pc.onicecandidateerror = (event) => {
        errors.push({ url: event.url, code: event.errorCode, text: event.errorText });
      };
    });
    pc.createDataChannel('diagnostics');
    await pc.setLocalDescription(await pc.createOffer());
    const done = await completed;
    return { candidates, errors, timedOut: !done };
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    pc.onicecandidate = null;
    pc.onicegatheringstatechange = null;
    pc.onicecandidateerror = null;
    pc.close();
  }
}
