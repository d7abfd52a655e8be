/** Argument checks shared by the functional ops: graph values, ranks, dtypes and channel counts. */
import { GraphBuilder, GraphError, InvalidInputError, ShapeError, Value, type Dim } from '@dc/core';

export function checkBuilder(caller: string, g: unknown): asserts g is GraphBuilder {
  if (!(g instanceof GraphBuilder)) throw new InvalidInputError('g', `${caller} needs a GraphBuilder`);
}

/** A float value of this graph, optionally of a given rank (or one of several ranks). */
export function checkValue(caller: string, name: string, g: GraphBuilder, v: unknown, ranks?: readonly number[], expected?: readonly Dim[] | string): Value {
  if (!(v instanceof Value)) throw new InvalidInputError(name, `${caller} needs a graph value`);
  if (v.builder !== g) throw new GraphError(`${caller}: '${name}' belongs to another graph`);
  if (v.dtype !== 'float32' && v.dtype !== 'float64') throw new InvalidInputError(name, `${caller} needs float32 or float64, got ${v.dtype}`);
  if (ranks && !ranks.includes(v.rank)) {
    throw new ShapeError(name, expected ?? `rank ${ranks.join(' or ')}`, v.shape.map((d) => (typeof d === 'number' ? d : null)));
  }
  return v;
}

/** Same dtype as the reference value. */
export function checkDtype(name: string, v: Value, ref: Value): void {
  if (v.dtype !== ref.dtype) throw new InvalidInputError(name, `must have dtype ${ref.dtype} like the input, got ${v.dtype}`);
}

export function shapeForError(shape: readonly Dim[]): (number | string | null)[] {
  return shape.map((d) => (typeof d === 'number' ? d : d));
}

/** A 1-D value of length `c` (a per-channel parameter). */
export function checkChannels(caller: string, name: string, g: GraphBuilder, v: unknown, c: Dim, ref: Value): Value {
  const p = checkValue(caller, name, g, v);
  checkDtype(name, p, ref);
  if (p.rank !== 1 || (typeof c === 'number' && typeof p.shape[0] === 'number' && p.shape[0] !== c)) {
    throw new ShapeError(name, [c], shapeForError(p.shape));
  }
  return p;
}
