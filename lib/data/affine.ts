// SPDX-License-Identifier: MIT
//
// Voxel-to-world affines of NIfTI files: the qform (a unit quaternion, voxel sizes, a handedness
// sign and an offset) and conversions between it and a 4x4 matrix. World coordinates are RAS+
// (x to the right, y to the front, z up) in millimetres when the header's spatial unit is mm.

/**
 * Quaternion form of an affine as stored in a NIfTI header. `b`, `c` and `d` are the imaginary
 * parts of a unit quaternion whose real part is `sqrt(1 - b^2 - c^2 - d^2)`. `qfac` is -1 when
 * the voxel axes form a left-handed system (then the third column is negated).
 * @internal
 */
export interface Quaternion {
  b: number;
  c: number;
  d: number;
  qx: number;
  qy: number;
  qz: number;
  qfac: 1 | -1;
  /** Voxel sizes along i, j and k: the column norms of the affine's 3x3 part. */
  spacing: [number, number, number];
}

/** 4x4 identity matrix. @internal */
export function identity4(): number[][] {
  return [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
}

/** Diagonal affine with the given voxel sizes, as NIfTI uses when no qform or sform is set. @internal */
export function diagonalAffine(spacing: readonly number[]): number[][] {
  const affine = identity4();
  for (let axis = 0; axis < 3; axis++) affine[axis]![axis] = usableSpacing(spacing[axis]);
  return affine;
}

/**
 * Returns a voxel size that can scale an axis: non-positive and non-finite sizes become 1, as
 * nifti1_io does in nifti_quatern_to_mat44.
 */
function usableSpacing(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : 1;
}

/**
 * Builds the qform affine from quaternion parameters, following NIfTI-1 "method 2".
 *
 * When b^2 + c^2 + d^2 exceeds 1 by rounding (common in float32 headers), the vector (b, c, d)
 * is rescaled to unit length and the real part taken as 0, so the result is never NaN.
 * @internal
 */
export function quaternionToAffine(
  b: number,
  c: number,
  d: number,
  offset: readonly [number, number, number],
  spacing: readonly number[],
  qfac: number,
): number[][] {
  b = Number.isFinite(b) ? b : 0;
  c = Number.isFinite(c) ? c : 0;
  d = Number.isFinite(d) ? d : 0;
  let a = 1 - (b * b + c * c + d * d);
  if (a < 1e-7) {
    const norm = Math.sqrt(b * b + c * c + d * d);
    b /= norm;
    c /= norm;
    d /= norm;
    a = 0;
  } else {
    a = Math.sqrt(a);
  }

  const rotation = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const scale = [usableSpacing(spacing[0]), usableSpacing(spacing[1]), usableSpacing(spacing[2])];
  scale[2] = qfac < 0 ? -scale[2]! : scale[2]!;

  const affine = identity4();
  for (let row = 0; row < 3; row++) {
    for (let col = 0; col < 3; col++) affine[row]![col] = rotation[row]![col]! * scale[col]!;
    affine[row]![3] = Number.isFinite(offset[row]) ? offset[row]! : 0;
  }
  return affine;
}

/**
 * Converts the 3x3 part of an affine into a quaternion, voxel sizes and a handedness sign.
 *
 * The columns are divided by their norms and the result replaced by the nearest rotation
 * (polar decomposition), so a sheared affine gives the closest qform rather than an error.
 * A zero column is treated as the matching unit axis.
 * @internal
 */
export function affineToQuaternion(affine: readonly (readonly number[])[]): Quaternion {
  const columns: number[][] = [];
  const spacing: [number, number, number] = [1, 1, 1];
  for (let col = 0; col < 3; col++) {
    const column = [0, 1, 2].map((row) => affine[row]![col]!);
    const norm = Math.hypot(column[0]!, column[1]!, column[2]!);
    if (norm > 0 && Number.isFinite(norm)) {
      spacing[col] = norm;
      columns.push(column.map((value) => value / norm));
    } else {
      columns.push([0, 1, 2].map((row) => (row === col ? 1 : 0)));
    }
  }
  let rotation = [0, 1, 2].map((row) => [0, 1, 2].map((col) => columns[col]![row]!));
  rotation = nearestOrthogonal(rotation);

  let qfac: 1 | -1 = 1;
  if (det3(rotation) < 0) {
    qfac = -1;
    for (let row = 0; row < 3; row++) rotation[row]![2] = -rotation[row]![2]!;
  }

  const { b, c, d } = rotationToQuaternion(rotation);
  return { b, c, d, qx: affine[0]![3]!, qy: affine[1]![3]!, qz: affine[2]![3]!, qfac, spacing };
}

/** Imaginary parts of the unit quaternion of a proper rotation matrix, with a non-negative real part. */
function rotationToQuaternion(r: number[][]): { b: number; c: number; d: number } {
  const [r11, r12, r13] = r[0]! as [number, number, number];
  const [r21, r22, r23] = r[1]! as [number, number, number];
  const [r31, r32, r33] = r[2]! as [number, number, number];
  const trace = r11 + r22 + r33 + 1;
  let a: number;
  let b: number;
  let c: number;
  let d: number;
  if (trace > 0.5) {
    // The real part dominates: every term is divided by at least sqrt(0.5) / 2.
    a = 0.5 * Math.sqrt(trace);
    b = (0.25 * (r32 - r23)) / a;
    c = (0.25 * (r13 - r31)) / a;
    d = (0.25 * (r21 - r12)) / a;
  } else {
    // Near a half turn: divide by the largest imaginary part instead.
    const xx = 1 + r11 - (r22 + r33);
    const yy = 1 + r22 - (r11 + r33);
    const zz = 1 + r33 - (r11 + r22);
    if (xx > 1) {
      b = 0.5 * Math.sqrt(xx);
      c = (0.25 * (r12 + r21)) / b;
      d = (0.25 * (r13 + r31)) / b;
      a = (0.25 * (r32 - r23)) / b;
    } else if (yy > 1) {
      c = 0.5 * Math.sqrt(yy);
      b = (0.25 * (r12 + r21)) / c;
      d = (0.25 * (r23 + r32)) / c;
      a = (0.25 * (r13 - r31)) / c;
    } else {
      d = 0.5 * Math.sqrt(zz);
      b = (0.25 * (r13 + r31)) / d;
      c = (0.25 * (r23 + r32)) / d;
      a = (0.25 * (r21 - r12)) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return { b, c, d };
}

/** Nearest orthogonal matrix by the Newton iteration R <- (R + R^-T) / 2, which keeps the sign of det. */
function nearestOrthogonal(matrix: number[][]): number[][] {
  let current = matrix.map((row) => row.slice());
  for (let iteration = 0; iteration < 30; iteration++) {
    const inverse = invert3(current);
    if (inverse === null) return matrix;
    const next = current.map((row, i) => row.map((value, j) => 0.5 * (value + inverse[j]![i]!)));
    let change = 0;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) change += Math.abs(next[i]![j]! - current[i]![j]!);
    current = next;
    if (change < 1e-12) break;
  }
  return current;
}

/** Determinant of a 3x3 matrix. @internal */
export function det3(m: readonly (readonly number[])[]): number {
  const [a, b, c] = m[0]! as [number, number, number];
  const [d, e, f] = m[1]! as [number, number, number];
  const [g, h, i] = m[2]! as [number, number, number];
  return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
}

/** Inverse of a 3x3 matrix, or null when it is singular. */
function invert3(m: number[][]): number[][] | null {
  const det = det3(m);
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) return null;
  const [a, b, c] = m[0]! as [number, number, number];
  const [d, e, f] = m[1]! as [number, number, number];
  const [g, h, i] = m[2]! as [number, number, number];
  return [
    [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
    [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
  ];
}

/** True when two 4x4 affines agree to within `tolerance`, relative to each entry's magnitude (at least 1). @internal */
export function affinesClose(
  first: readonly (readonly number[])[],
  second: readonly (readonly number[])[],
  tolerance = 1e-4,
): boolean {
  for (let row = 0; row < 4; row++) {
    for (let col = 0; col < 4; col++) {
      const x = first[row]?.[col];
      const y = second[row]?.[col];
      if (x === undefined || y === undefined) return false;
      if (!(Math.abs(x - y) <= tolerance * Math.max(1, Math.abs(x), Math.abs(y)))) return false;
    }
  }
  return true;
}
