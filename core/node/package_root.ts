/**
 * The folder of edgeseg's own package.json: a checkout's root, or `node_modules/edgeseg` when
 * installed. Found by resolving the package's own `edgeseg/package.json` export, so no module
 * spells out a relative path to another folder.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of edgeseg's own package.json: the checkout, or node_modules/edgeseg. */
export const PACKAGE_ROOT = dirname(fileURLToPath(import.meta.resolve('edgeseg/package.json')));
