/**
 * Backend resolution in the shape of onnxruntime-common's `resolveBackend`: a table of candidates
 * in priority order, each with a cheap `probe` (why it cannot run here, or null) and an
 * `activate`; the first that activates wins, and when none does, one error lists every
 * candidate's reason. The trainer (core/node/backends) and runtime-web each give their own table.
 */
import { BackendUnavailableError } from './errors.js';

/** One row of a backend table: its name, a cheap probe and its activation. */
export interface BackendCandidate<Name extends string, Activated> {
  name: Name;
  /** Why this backend cannot run here (no adapter, software adapter, package missing), or null when it may. */
  probe(): Promise<string | null>;
  /** Initialises the backend; throws with the reason when it cannot. */
  activate(): Promise<Activated>;
}

/** The backend that activated, what its activation returned, and why the ones before it were passed over. */
export interface ResolvedBackend<Name extends string, Activated> {
  name: Name;
  activated: Activated;
  /** Why each candidate before the chosen one was passed over. */
  skipped: Record<string, string>;
}

const why = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Walks `candidates` in order and activates the first whose probe passes and whose activation
 * succeeds. `requested` names one candidate: it is activated without its probe (an explicit
 * choice accepts, say, a software adapter), and its failure is the only one reported.
 */
export async function resolveBackend<Name extends string, Activated>(candidates: readonly BackendCandidate<Name, Activated>[], requested: Name | 'auto' = 'auto'): Promise<ResolvedBackend<Name, Activated>> {
  const skipped: Record<string, string> = {};
  if (requested !== 'auto') {
    const only = candidates.find((c) => c.name === requested);
    if (!only) throw new BackendUnavailableError({ [requested]: `not one of ${candidates.map((c) => c.name).join(', ')}` });
    try {
      return { name: only.name, activated: await only.activate(), skipped };
    } catch (err) {
      throw new BackendUnavailableError({ [requested]: why(err) });
    }
  }
  for (const c of candidates) {
    try {
      const reason = await c.probe();
      if (reason) {
        skipped[c.name] = reason;
        continue;
      }
      return { name: c.name, activated: await c.activate(), skipped: { ...skipped } };
    } catch (err) {
      skipped[c.name] = why(err);
    }
  }
  throw new BackendUnavailableError(skipped);
}
