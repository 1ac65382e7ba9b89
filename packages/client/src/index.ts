/**
 * @parley-rtc/client: the browser SDK for Parley rooms. Everything exported here is the public
 * API, documented in docs/client-api.md (a test keeps the two in step). Building blocks shared
 * with @parley-rtc/bots live in `@parley-rtc/client/internal` and carry no stability promise.
 */
export { Room } from './Room.ts';
export type { ConnectOptions, MediaMode, RemotePeer, RoomConnectionState, RoomEvents, RoomOptions } from './Room.ts';
export { LocalMedia } from './LocalMedia.ts';
export type { DeviceKind, DeviceState, LocalMediaEvents, LocalMediaOptions, LocalMediaState } from './LocalMedia.ts';
export type { LocalTrack, RemoteTrack, TrackSlot } from './PeerLink.ts';
export type { VideoSource } from './VideoPreferences.ts';
export type { DataMessage, SendDataOptions } from './DataChannels.ts';
export type { PeerMediaState } from './peerMessages.ts';
export { RoomLog } from './RoomLog.ts';
export type { RecordingControl } from './recordingControl.ts';
export { Emitter } from './Emitter.ts';
export type { EventMap } from './Emitter.ts';
export { ClientError, MediaAccessError, ParleyError } from './errors.ts';
export type { ClientErrorReason, MediaErrorReason } from './errors.ts';
export { rateQuality } from './stats.ts';
export type { InboundVideoStats, PeerStats, PublishLayerStats, PublishStats, Quality } from './stats.ts';
export { fileUrl, uploadFile } from './files.ts';
export { formatBytes, isPreviewableImage, PREVIEWABLE_IMAGE_TYPES } from './fileDisplay.ts';
export type { FileRoomRef, UploadOptions, UploadProgress, UploadResult } from './files.ts';
export { ChatChannel } from './chat/ChatChannel.ts';
export type { ChatChannelEvents, ChatChannelOptions, ChatChannelStats, ChatDataIn, ChatRoomRef, PendingChat } from './chat/ChatChannel.ts';
export { FileTransferError, FileTransfers, IncomingTransfer, OutgoingTransfer, Transfer, roomFileLink } from './fileTransfer/index.ts';
export type {
  FileRoomDataRef,
  FileTransferLink,
  FileTransfersEvents,
  FileTransfersOptions,
  SendFileOptions,
  TransferEvents,
  TransferState,
} from './fileTransfer/index.ts';
export { WhepPlayer, WhipWhepError } from './whep.ts';
export type { WhepOptions } from './whep.ts';
export { WhipPublisher } from './whip.ts';
export type { WhipOptions } from './whip.ts';
// Wire types that appear in the API above, so apps need not depend on @parley-rtc/protocol.
export type {
  AppendResult,
  ChatEntry,
  ErrorCode,
  EventEntry,
  FileEntry,
  FileInfo,
  HistoryRequest,
  LogEntry,
  MemberGrants,
  MuteNotice,
  PeerInfo,
  SessionEndReason,
  Speaker,
  WireError,
} from '@parley-rtc/protocol';
