/** The shipped pets versions bench:pets measures, and folder sizes. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type ModelCard } from '../../core/index.js';
import { aliases, listVersions, readCard } from '../../core/node/registry.js';

export interface Version {
  dir: string;
  card: ModelCard;
}

/** The shipped fp16 root and uint8 variant of one parent (the uint8 one the champion when it is). */
export function shippedVersions(root: string, name: string): { fp16: Version; uint8: Version } {
  const versions = existsSync(join(root, name)) ? listVersions(root, name) : [];
  const all = versions.map((v) => ({ dir: join(root, name, v), card: readCard(join(root, name, v)) }));
  const champion = existsSync(join(root, name)) ? aliases(root, name).champion : undefined;
  const uint8 = all.find((v) => v.card.version === champion && v.card.precision === 'uint8') ?? all.filter((v) => v.card.precision === 'uint8').at(-1);
  const fp16 = all.find((v) => v.card.precision === 'fp16' && v.card.parentVersion === uint8?.card.parentVersion);
  if (!uint8 || !fp16) {
    throw new ConfigError(`${join(root, name)} holds no fp16 root and uint8 variant of one parent (versions: ${versions.join(', ') || 'none'}); run \`npm run train:pets\`, or point --models at a registry root that has them`);
  }
  return { fp16, uint8 };
}

export function folderBytes(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .reduce((n, d) => n + statSync(join(d.parentPath, d.name)).size, 0);
}
