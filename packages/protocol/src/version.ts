/** Wire protocol version. Bump the major part on any incompatible change to a schema or event. */
export const PROTOCOL_VERSION = '2.0' as const;
