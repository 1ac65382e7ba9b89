// SFU bench server: one Router (the code under test) behind the bench signalling (control.ts).
// ICE: loopback host candidates only, no ICE servers.
import { Router } from '../../packages/server/src/sfu/Router.ts';
import { serveBench } from './control.ts';

const router = new Router({
  id: 'bench',
  connectionOptions: () => ({ iceServers: [], bindAddress: '127.0.0.1' }),
  limits: { maxConsumers: 5000 },
});

serveBench({
  async publish(sdp) {
    const r = await router.publish(sdp);
    return { producerId: r.producers.find((p) => p.kind === 'video')?.id, sdp: r.answer };
  },
  async subscribe(sdp, producerId) {
    const r = await router.subscribe(sdp, [producerId]);
    return { sdp: r.answer };
  },
  stats: () => router.stats(),
  close: () => router.close(),
});
