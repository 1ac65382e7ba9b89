import * as z from 'zod';
import { ParleyError, fileEntrySchema, fileInfoSchema, wireErrorSchema, type FileEntry, type FileInfo } from '@parley-rtc/protocol';
import { ClientError } from './errors.ts';

/**
 * File sharing over the room log's HTTP API (docs/room-log.md): upload a file into the room the
 * Room has joined, and build download links. Framework-free; uploads use XMLHttpRequest because
 * fetch() has no upload progress events in browsers.
 */

/** What `uploadFile` needs from a Room: where it is connected and as whom. */
export interface FileRoomRef {
  readonly serverUrl: string | undefined;
  readonly roomName: string | undefined;
  /** The member's HTTP credential from the join ack (`Room.session`). */
  readonly session: string | undefined;
  readonly token: string | undefined;
}

export interface UploadProgress {
  /** Bytes sent so far. */
  loaded: number;
  /** Bytes to send (the file size). */
  total: number;
}

export interface UploadOptions {
  onProgress?: (progress: UploadProgress) => void;
  /** Aborting rejects with `ClientError('aborted')`. */
  signal?: AbortSignal;
  /** File name to store; defaults to `file.name`. */
  name?: string;
  /** Injected for tests or non-browser runtimes; defaults to the global XMLHttpRequest. */
  createRequest?: () => XMLHttpRequest;
}

export interface UploadResult {
  file: FileInfo;
  entry: FileEntry;
}

const uploadResponseSchema = z.object({ file: fileInfoSchema, entry: fileEntrySchema });
const errorResponseSchema = z.object({ error: wireErrorSchema });

interface Target {
  base: string;
  room: string;
  session: string;
  token: string | undefined;
}

function target(room: FileRoomRef): Target {
  const { serverUrl, roomName, session } = room;
  if (serverUrl === undefined || roomName === undefined || session === undefined) {
    throw new ClientError('disconnected', 'not in a room: files need a joined Room');
  }
  return { base: serverUrl.replace(/\/+$/, ''), room: roomName, session, token: room.token };
}

function filesPath(t: Target): string {
  return `${t.base}/api/rooms/${encodeURIComponent(t.room)}/files`;
}

/**
 * The download URL of a file announced in the Room's room. A plain link cannot carry headers,
 * so it carries our session credential in `?session=` (valid while we are in the room; a new
 * session has a new one, so build links at render time). The access token is deliberately not
 * put in the URL: it would outlive the session, and URLs end up in logs and history.
 */
export function fileUrl(room: FileRoomRef, sha256: string): string {
  const t = target(room);
  return `${filesPath(t)}/${encodeURIComponent(sha256)}?session=${encodeURIComponent(t.session)}`;
}

/** Parses a non-201 answer into the error the server meant, or a ClientError when it is not one. */
function failure(status: number, body: string): Error {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return new ClientError('invalid-response', `upload failed with HTTP ${status}`);
  }
  const parsed = errorResponseSchema.safeParse(json);
  if (parsed.success) return ParleyError.fromWire(parsed.data.error);
  return new ClientError('invalid-response', `upload failed with HTTP ${status}`, { cause: parsed.error });
}

/**
 * Uploads `file` into the Room's room; resolves once it is stored and announced (the server's
 * 201), with the FileInfo and the log entry. Rejects with ParleyError (the server refused:
 * PAYLOAD_TOO_LARGE with `details.maxBytes`, FORBIDDEN, INVALID_PAYLOAD…) or ClientError
 * (`disconnected` for network failures, `aborted`, `invalid-response`).
 */
export function uploadFile(room: FileRoomRef, file: Blob & { name?: string }, options: UploadOptions = {}): Promise<UploadResult> {
  let t: Target;
  try {
    t = target(room);
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
  const name = options.name ?? file.name;
  if (!name) return Promise.reject(new ClientError('invalid-state', 'the file needs a name'));
  const { signal, onProgress } = options;
  if (signal?.aborted) return Promise.reject(new ClientError('aborted', 'the upload was cancelled'));

  return new Promise<UploadResult>((resolve, reject) => {
    const xhr = options.createRequest ? options.createRequest() : new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    const settle = (fn: () => void) => {
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    xhr.open('POST', `${filesPath(t)}?name=${encodeURIComponent(name)}`);
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.setRequestHeader('X-Parley-Session', t.session);
    if (t.token !== undefined) xhr.setRequestHeader('Authorization', `Bearer ${t.token}`);
    xhr.responseType = 'text';
    if (onProgress) {
      xhr.upload.onprogress = (e) => onProgress({ loaded: e.loaded, total: e.lengthComputable ? e.total : file.size });
    }
    xhr.onload = () =>
      settle(() => {
        if (xhr.status !== 201) {
          reject(failure(xhr.status, xhr.responseText));
          return;
        }
        let json: unknown;
        try {
          json = JSON.parse(xhr.responseText);
        } catch (err) {
          reject(new ClientError('invalid-response', 'the upload answer is not JSON', { cause: err }));
          return;
        }
        const parsed = uploadResponseSchema.safeParse(json);
        if (!parsed.success) {
          reject(new ClientError('invalid-response', 'the upload answer does not match the protocol', { cause: parsed.error }));
          return;
        }
        onProgress?.({ loaded: file.size, total: file.size });
        resolve(parsed.data);
      });
    xhr.onerror = () =>
      settle(() => reject(new ClientError('disconnected', 'the upload failed: the server could not be reached or closed the connection')));
    xhr.ontimeout = () => settle(() => reject(new ClientError('timeout', 'the upload timed out')));
    xhr.onabort = () => settle(() => reject(new ClientError('aborted', 'the upload was cancelled')));
    signal?.addEventListener('abort', onAbort, { once: true });
    xhr.send(file);
  });
}
