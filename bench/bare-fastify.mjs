// The reference for the API benchmark: a bare Fastify hello-world on GET /health/live → {status:'ok'}.
// Usage: PORT=<port> node bench/bare-fastify.mjs (listens on 127.0.0.1).
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/health/live', async () => ({ status: 'ok' }));
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
