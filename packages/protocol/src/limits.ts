/** Protocol-level limits. Servers may configure lower values, never higher. */
export const LIMITS = {
  roomName: 64,
  displayName: 64,
  chatText: 4000,
  sdp: 64 * 1024,
  candidate: 1024,
  eventType: 64,
  eventBody: 16 * 1024,
  historyPage: 500,
  fileName: 255,
  mimeType: 127,
  token: 4096,
} as const;
