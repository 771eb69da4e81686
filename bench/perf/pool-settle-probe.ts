// Does a warm machine taken right after the pool made it answer slower than one
// that sat idle a while? (A probe, not a benchmark: issue 14's warm-create variance.)
// create → prompt (the POST's answer) and create → terminal attached, 10 runs each,
// taking the machine at once after the pool holds it, then after a few seconds' rest.
import { percentile } from '../stats.ts';
import { startServer } from '../../tests/support/server.ts';
import { createToPrompt, poolReady } from './create-to-prompt.ts';

const server = await startServer({ env: { WARM_POOL_SIZE: '1', LOG_LEVEL: 'info' } });
try {
  for (const restMs of [0, 3000, 0, 3000]) {
    const timings = await createToPrompt(server, 10, async () => {
      await poolReady(server);
      await new Promise((resolve) => setTimeout(resolve, restMs));
    });
    const show = (samples: number[]) =>
      `p50 ${percentile(samples, 50).toFixed(1)} p90 ${percentile(samples, 90).toFixed(1)} max ${Math.max(...samples).toFixed(1)}`;
    console.log(`rest ${restMs} ms: prompt ${show(timings.prompt)} | attached ${show(timings.attached)}`);
  }
} finally {
  await server.stop();
}
