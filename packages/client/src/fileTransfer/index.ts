export { FileTransfers } from './FileTransfers.ts';
export type { FileTransfersEvents, FileTransfersOptions, SendFileOptions } from './FileTransfers.ts';
export { IncomingTransfer } from './IncomingTransfer.ts';
export { OutgoingTransfer } from './OutgoingTransfer.ts';
export { FileTransferError, Transfer } from './Transfer.ts';
export type { TransferEvents, TransferState } from './Transfer.ts';
export type { FileTransferLink } from './link.ts';
export { roomFileLink } from './roomLink.ts';
export type { FileRoomDataRef } from './roomLink.ts';
