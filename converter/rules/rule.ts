import type { LayerGraph } from '../graph.js';

/** One graph rewrite: mutates the graph and returns a line per change it made. */
export interface RewriteRule {
  name: string;
  apply(graph: LayerGraph): string[];
}
