/** Printing a rollout's evidence (`edgeseg models status`, `edgeseg loop`). */
import type { ArmEvidence, RolloutEvidence } from '../core/rollout.js';

const pct = (x: number | null, digits = 1) => (x === null ? 'n/a' : `${(100 * x).toFixed(digits)}%`);

function armLine(label: string, a: ArmEvidence): string {
  const latency = a.latencyP95Ms === null ? 'n/a' : `${a.latencyP95Ms.toFixed(1)} ms`;
  const coverage = a.classCoverage.map((c) => pct(c, 0)).join('/');
  const psi = a.driftPsi ? `  PSI max ${Math.max(...Object.values(a.driftPsi)).toFixed(2)}` : '';
  return `${label.padEnd(8)} ${a.version.padEnd(16)} frames ${String(a.frames).padStart(6)}  errors ${a.errors}  p95 ${latency}  confidence ${pct(a.meanConfidence)}  coverage ${coverage || 'n/a'}${psi}  labels ${a.labels}  label mIoU ${pct(a.labelMiou)}  agreement ${pct(a.labelAgreement)}`;
}

/** One line per arm, or a line saying none was recorded yet. */
export function formatEvidence(e: RolloutEvidence | null): string[] {
  if (!e) return ['evidence: none recorded yet'];
  return [`evidence at ${e.at}:`, armLine('champion', e.champion), armLine('canary', e.canary)];
}
