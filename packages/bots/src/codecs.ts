/** The codecs bots send and receive, with the payload types they offer them at. */
export const BOT_CODECS = {
  video: { codec: { kind: 'video', name: 'vp8', clockRate: 90_000 }, payloadType: 96 },
  audio: { codec: { kind: 'audio', name: 'opus', clockRate: 48_000, channels: 2 }, payloadType: 111 },
} as const;
