import { benchSignaling } from './signaling/index.ts';
import { benchLog } from './log.ts';
import { benchMedia } from './media.ts';
import { benchSfu } from './sfu.ts';
import { benchLoadTest } from './loadtest.ts';
import { benchRecording } from './recording.ts';
import { benchClusterMedia } from './clusterMedia.ts';
import { benchCluster } from './cluster.ts';
import { benchData } from './data/index.ts';
import { benchAudioMix } from './audioMix.ts';

/** Benchmark parts run by `npm run bench`, in order. Add yours here. */
export const PARTS: Array<{ name: string; run: () => Promise<void> }> = [
  { name: 'signaling', run: benchSignaling },
  { name: 'log', run: benchLog },
  { name: 'media', run: benchMedia },
  { name: 'sfu', run: benchSfu },
  { name: 'loadtest', run: benchLoadTest },
  { name: 'recording', run: benchRecording },
  { name: 'cluster-media', run: benchClusterMedia },
  { name: 'cluster', run: benchCluster },
  { name: 'data', run: benchData },
  { name: 'audio-mix', run: benchAudioMix },
];
