export {
  DcError,
  ShapeError,
  InvalidOptionError,
  UnknownOptionError,
  InvalidInputError,
  NonFiniteError,
  NotFittedError,
  DeviceUnavailableError,
  GraphError,
  describeValue,
  type DcErrorCode,
  type DeviceAttempt,
  type ShapeLike,
} from './errors.js';
export { c, checkParameter, validateOptions, type Constraint, type InferOptions, type RangeOptions, type Schema } from './validation.js';
export { assertFinite, assertLabels, assertMatrix, asFloat32 } from './checks.js';
export {
  Tensor,
  tensor,
  allocate,
  checkDtype,
  dtypeOf,
  shapeSize,
  stridesOf,
  DTYPES,
  type DType,
  type DataTypeMap,
  type Shape,
  type TypedArray,
} from './tensor.js';
export { Rng, createRng, type RngState } from './rng.js';

export { GraphBuilder, Value, DEFAULT_OPSET, type GraphBuilderOptions, type ModelDescription, type NodeOptions, type NodeRecord, type Operand, type InitializerRecord } from './graph/builder.js';
export { defineOp, getOpDef, registeredOps, InferContext, type GradContext, type GradOptions, type GradRule, type InferInput, type OpDef } from './graph/registry.js';
export { serializeModel, parseModel, type ParsedModel, type ParsedNode } from './graph/serialize.js';
export { isStatic, formatShape, type AttributeInput, type AttributeValue, type Dim, type ValueType } from './graph/types.js';
export { ONNX_DATA_TYPE } from './graph/onnx-proto.js';

export { Runtime, Session, getRuntime, disposeSharedRuntimes, type IOSpec, type ModelSource, type RuntimeOptions } from './runtime/runtime.js';
export { resolveDevice, availableDevices, executionProviders, DEVICES, type Device, type ResolvedDevice } from './runtime/device.js';
export { lowerConvsToNchwc, nchwcBlockSize, NCHWC_DOMAIN, type NchwcLoweringOptions } from './runtime/nchwc.js';
export { lowerConvsToWinograd, winogradConvLowerable } from './runtime/winograd.js';

export { l2Normalize, cosineSimilarity, squaredEuclidean, l2NormalizeValue, squaredNormsValue, type KernelOptions } from './kernels/similarity.js';
export { knn, type KnnMetric, type KnnOptions, type KnnResult } from './kernels/knn.js';
export { linearSumAssignment, type Assignment } from './linalg/assignment.js';

export { WorkerPool, type PoolCallOptions, type PoolReply, type PoolRequest } from './workers/pool.js';
export { moduleFileUrl, scriptBeside, startScriptWorker, workerExecArgv, type WorkerScript } from './workers/start.js';
export { errorToWire, errorFromWire, type WireError } from './workers/wire.js';
