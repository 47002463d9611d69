/**
 * Exact Euclidean distance transform (Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled
 * Functions", 2012): the squared distance of every pixel to the nearest pixel of a set, as two
 * passes of the 1-D lower envelope of parabolas — along columns, then along rows.
 *
 *   d²(x, y) = min over (x', y') in the set of (x − x')² + (y − y')²
 *
 * O(width × height), no approximation (unlike chamfer masks), so a band "within r pixels of the
 * boundary" means the same thing here as in scipy's `distance_transform_edt`, which the border
 * rule's constants were fitted with.
 */

const INF = 1e20;

/** 1-D squared distance transform of `f` (0 on the set, INF off it) into `d`; v and z are scratch. */
function transform1d(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -INF;
  z[1] = INF;
  for (let q = 1; q < n; q++) {
    let s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    while (s <= z[k]) {
      k--;
      s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = INF;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    d[q] = (q - v[k]) * (q - v[k]) + f[v[k]];
  }
}

/**
 * Distance (in pixels) of every pixel to the nearest pixel where `inSet(i)` is true; a pixel of the
 * set has distance 0. With an empty set every distance is Infinity.
 */
export function distanceTo(width: number, height: number, inSet: (i: number) => boolean): Float32Array {
  const n = Math.max(width, height);
  const f = new Float64Array(n);
  const d = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  const grid = new Float64Array(width * height);
  for (let i = 0; i < grid.length; i++) grid[i] = inSet(i) ? 0 : INF;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) f[y] = grid[y * width + x];
    transform1d(f, height, d, v, z);
    for (let y = 0; y < height; y++) grid[y * width + x] = d[y];
  }
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) f[x] = grid[y * width + x];
    transform1d(f, width, d, v, z);
    for (let x = 0; x < width; x++) out[y * width + x] = d[x] >= INF / 2 ? Infinity : Math.sqrt(d[x]);
  }
  return out;
}
