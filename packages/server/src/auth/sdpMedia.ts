/**
 * The media kinds an SDP would send: every audio/video m-section whose direction is sendrecv or
 * sendonly (the default is sendrecv) and whose port is not 0. Used to enforce the `publish` grant
 * on mesh offers and answers, and on WHIP.
 */
export function sentMediaKinds(sdp: string): Set<'audio' | 'video'> {
  const kinds = new Set<'audio' | 'video'>();
  let kind: 'audio' | 'video' | undefined;
  let direction = 'sendrecv';
  const flush = () => {
    if (kind && (direction === 'sendrecv' || direction === 'sendonly')) kinds.add(kind);
  };
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=')) {
      flush();
      const [media, port] = line.slice(2).split(' ');
      kind = (media === 'audio' || media === 'video') && port !== '0' ? media : undefined;
      direction = 'sendrecv';
    } else if (/^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line)) {
      direction = line.slice(2);
    }
  }
  flush();
  return kinds;
}
