/**
 * What direct file transfers need from a data path: reliable, ordered messages to one member and
 * back, with backpressure, and whether the path to a member is open. `Room` provides one through
 * `roomFileLink` (its app data API, topic `parley.file`); tests can plug in a bare data channel.
 */
export interface FileTransferLink {
  /** Sends reliably to one member; resolves once handed to the channel (waits while its buffer is full). */
  send(to: string, payload: string | Uint8Array): Promise<void>;
  /** Subscribes to messages on the transfer topic; returns the unsubscribe. */
  onMessage(fn: (from: string, payload: string | Uint8Array) => void): () => void;
  /** Whether the data path to a member is open now. */
  isOpen(memberId: string): boolean;
  /** Subscribes to data path changes (a member's path opened or closed); returns the unsubscribe. */
  onPathChange(fn: (memberId: string, open: boolean) => void): () => void;
}
