// Container health check: exits 0 when GET /healthz answers 200 on the local server.
const port = Number(process.env.SLUICE_PORT ?? process.env.PORT ?? 8080);
try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, {
    signal: AbortSignal.timeout(4000),
  });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
