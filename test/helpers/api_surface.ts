/**
 * The package's public API surface, read from the sources with the TypeScript compiler's API: for
 * every subpath in package.json `exports` that has `types`, the names its entry file exports (what
 * its emitted `.d.ts` declares) and each name's kind. The entry is the source the `types` path is
 * built from (`./dist/lib/core/index.d.ts` → `core/index.ts`), so no build is needed. Browser
 * entries (runtime-web) are read in tsconfig.web.json's program, the others in tsconfig.json's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { API, SymbolFlags, type Symbol as TsSymbol } from 'typescript/unstable/sync';

/** One exported name of one subpath. */
export interface SurfaceRow {
  /** The import specifier, e.g. `edgeseg/core`. */
  subpath: string;
  name: string;
  kind: 'class' | 'function' | 'const' | 'enum' | 'namespace' | 'type';
}

/** The subpaths whose entries are one API (the lean entries differ only in their engine). */
export const RUNTIME_WEB_FAMILY = /^edgeseg\/runtime-web(\/|$)/;

/** Subpath → entry source file, from package.json `exports`; aliases of an entry already listed (`./runtime-web/dist`) are skipped. */
export function entryFiles(root: string): Map<string, string> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, string | { types?: string }> };
  const out = new Map<string, string>();
  const seen = new Set<string>();
  for (const [key, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string' || !target.types) continue;
    const source = target.types.replace(/^\.\/dist\/lib\//, '').replace(/\.d\.ts$/, '.ts');
    if (seen.has(source)) continue;
    seen.add(source);
    out.set(`edgeseg${key.slice(1)}`, source);
  }
  return out;
}

function kindOf(flags: number): SurfaceRow['kind'] {
  if (flags & SymbolFlags.Class) return 'class';
  if (flags & SymbolFlags.Function) return 'function';
  if (flags & SymbolFlags.Enum) return 'enum';
  if (flags & SymbolFlags.Variable) return 'const';
  if (flags & SymbolFlags.ValueModule) return 'namespace';
  return 'type';
}

/** Every public name of every subpath, sorted by subpath then name. */
export function readApiSurface(root: string): SurfaceRow[] {
  const entries = entryFiles(root);
  const configs = { node: join(root, 'tsconfig.json'), web: join(root, 'tsconfig.web.json') };
  const api = new API({ cwd: root });
  try {
    const snapshot = api.updateSnapshot({ openProjects: [configs.node, configs.web] });
    const rows: SurfaceRow[] = [];
    for (const [subpath, file] of entries) {
      const project = snapshot.getProject(file.startsWith('runtime-web/') ? configs.web : configs.node);
      if (!project) throw new Error(`no TypeScript project for ${file}`);
      const source = project.program.getSourceFile(join(root, file));
      if (!source) throw new Error(`${file} (the entry of ${subpath} in package.json exports) is not in its tsconfig`);
      const moduleSymbol = project.checker.getSymbolAtLocation(source);
      if (!moduleSymbol) throw new Error(`${file} is not a module`);
      for (const s of project.checker.getExportsOfModule(moduleSymbol)) {
        const target: TsSymbol = s.flags & SymbolFlags.Alias ? project.checker.getAliasedSymbol(s) : s;
        rows.push({ subpath, name: s.name, kind: kindOf(target.flags) });
      }
    }
    return rows.sort((a, b) => (a.subpath === b.subpath ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.subpath < b.subpath ? -1 : 1));
  } finally {
    api.close();
  }
}

/** The committed list's format: one `subpath name kind` per line. */
export function formatSurface(rows: readonly SurfaceRow[]): string {
  return rows.map((r) => `${r.subpath} ${r.name} ${r.kind}`).join('\n') + '\n';
}
