/** The built-in op definitions, collected (no import-time side effects, so bundlers cannot drop them). */
import type { OpDef } from '../registry.js';
import { defs as conv } from './conv.js';
import { defs as elementwise } from './elementwise.js';
import { defs as matmul } from './matmul.js';
import { defs as pool } from './pool.js';
import { defs as reduce } from './reduce.js';
import { defs as structure } from './structure.js';

export const BUILTIN_OPS: readonly OpDef[] = [...elementwise, ...reduce, ...matmul, ...conv, ...pool, ...structure];
