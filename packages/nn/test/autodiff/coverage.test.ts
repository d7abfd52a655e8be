/**
 * Every op with a backward rule in the registry is exercised by a finite-difference or closed-form test in this
 * folder; a rule added without a test fails here. (The list names the test file that checks each op.)
 */
import { getOpDef, registeredOps } from '@dc/core';

const CHECKED: Record<string, string> = {
  Abs: 'elementwise', Add: 'elementwise', Cast: 'elementwise', Ceil: 'elementwise', Clip: 'elementwise', Cos: 'elementwise',
  Div: 'elementwise', Dropout: 'elementwise', Elu: 'elementwise', Erf: 'elementwise', Exp: 'elementwise', Floor: 'elementwise',
  HardSigmoid: 'elementwise', Identity: 'elementwise', LeakyRelu: 'elementwise', Log: 'elementwise', Max: 'elementwise',
  Mean: 'elementwise', Min: 'elementwise', Mul: 'elementwise', Neg: 'elementwise', Pow: 'elementwise', Reciprocal: 'elementwise',
  Relu: 'elementwise', Round: 'elementwise', Sigmoid: 'elementwise', Sign: 'elementwise', Sin: 'elementwise', Softplus: 'elementwise',
  Sqrt: 'elementwise', Sub: 'elementwise', Sum: 'elementwise', Tanh: 'elementwise', Where: 'elementwise',
  Hardmax: 'reduce', LogSoftmax: 'reduce', LpNormalization: 'reduce', ReduceL1: 'reduce', ReduceL2: 'reduce', ReduceLogSumExp: 'reduce',
  ReduceMax: 'reduce', ReduceMean: 'reduce', ReduceMin: 'reduce', ReduceSum: 'reduce', ReduceSumSquare: 'reduce', Softmax: 'reduce',
  Gemm: 'matmul', MatMul: 'matmul',
  Conv: 'conv', ConvTranspose: 'conv',
  AveragePool: 'pool', BatchNormalization: 'pool', GlobalAveragePool: 'pool', GlobalMaxPool: 'pool', MaxPool: 'pool',
  Concat: 'structure', Expand: 'structure', Flatten: 'structure', Gather: 'structure', GatherElements: 'structure', Pad: 'structure',
  Reshape: 'structure', ScatterElements: 'structure', Slice: 'structure', Split: 'structure', Squeeze: 'structure', Tile: 'structure',
  TopK: 'structure', Transpose: 'structure', Unsqueeze: 'structure',
};

it('every op with a backward rule has a gradient test', () => {
  const withRule = registeredOps().filter((op) => getOpDef(op)?.backward);
  expect(withRule.filter((op) => !(op in CHECKED))).toEqual([]);
  // The required list is covered by rules.
  for (const op of ['MatMul', 'Gemm', 'Add', 'Sub', 'Mul', 'Div', 'Neg', 'Exp', 'Log', 'Sqrt', 'Pow', 'Reciprocal', 'Abs', 'Clip', 'ReduceSum', 'ReduceMean', 'ReduceMax', 'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Softmax', 'LogSoftmax', 'Conv', 'ConvTranspose', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Reshape', 'Flatten', 'Transpose', 'Concat', 'Split', 'Slice', 'Gather', 'Unsqueeze', 'Squeeze', 'Where', 'Dropout', 'Identity', 'Cast', 'LpNormalization']) {
    expect(withRule).toContain(op);
  }
});
