import { benchSignaling } from './signaling/index.ts';
import { benchLog } from './log.ts';
import { benchMedia } from './media.ts';
import { benchSfu } from './sfu.ts';
import { benchLoadTest } from './loadtest.ts';
import { benchData } from './data.ts';

/** Benchmark parts run by `npm run bench`, in order. Add yours here. */
export const PARTS: Array<{ name: string; run: () => Promise<void> }> = [
  { name: 'signaling', run: benchSignaling },
  { name: 'log', run: benchLog },
  { name: 'media', run: benchMedia },
  { name: 'sfu', run: benchSfu },
  { name: 'loadtest', run: benchLoadTest },
  { name: 'data', run: benchData },
];
