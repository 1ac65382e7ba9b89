import { displayNameSchema } from '@parley-rtc/protocol';

/**
 * The call this tab is in, kept in sessionStorage (per tab, survives a reload): after a reload the
 * room page joins again at once with the same name, and the SDK takes the seat back (same member
 * id, the others see no leave) when it is within the server's resume grace. Forgotten when the
 * call ends on purpose (leave, the server ended it, or the page closes the call).
 */
const keyOf = (room: string) => `parley.call:${room}`;

export function rememberCall(room: string, name: string): void {
  try {
    window.sessionStorage.setItem(keyOf(room), name);
  } catch {
    // Storage disabled: a reload shows the lobby instead.
  }
}

export function forgetCall(room: string): void {
  try {
    window.sessionStorage.removeItem(keyOf(room));
  } catch {
    // Nothing was stored.
  }
}

/** The display name this tab was in `room` with, if its call was still on when the page unloaded. */
export function rememberedCall(room: string): string | undefined {
  let raw: string | null;
  try {
    raw = window.sessionStorage.getItem(keyOf(room));
  } catch {
    return undefined;
  }
  const parsed = displayNameSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}
