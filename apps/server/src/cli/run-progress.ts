import type { RouterSummary } from '@sluice/router';

function rate(count: number, ms: number) {
  return ms > 0 ? Math.round((count * 1000) / ms) : 0;
}

/** The one-line progress `sluice run` keeps on a terminal's stderr (and prints once at the end). */
export function progressLine(summary: RouterSummary, startedAt: number): string {
  const delivered = Object.values(summary.destinations).reduce((n, d) => n + d.delivered, 0);
  return `read ${summary.records.in.toLocaleString('en')} · routed ${summary.records.acknowledged.toLocaleString('en')} · written ${delivered.toLocaleString('en')} · dead-lettered ${summary.deadLettered} · ${rate(summary.records.in, Date.now() - startedAt).toLocaleString('en')} rec/s`;
}
