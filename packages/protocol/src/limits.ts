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
  /** Producers one `sfu_subscribe` may ask for. */
  sfuSubscribeProducers: 16,
  /** Consumers one `sfu_pause` or `sfu_video_size` may name. */
  sfuConsumersPerRequest: 64,
  /** The largest width or height, in device pixels, an `sfu_video_size` may give. */
  videoSizePx: 16_384,
  /** The largest payload of one reliable `sendData` message, in bytes (a string counts as its UTF-8). */
  dataReliableBytes: 64 * 1024,
  /** The largest payload of one lossy `sendData` message (one SCTP packet on a common path MTU). */
  dataLossyBytes: 1200,
  /** The longest `topic` of a data message, in UTF-8 bytes. */
  dataTopicBytes: 64,
  /** The most members one data message may be addressed to (`to`). */
  dataRecipients: 64,
} as const;
