export { DataFileError, DatasetUnavailableError, type DataFileProblem } from './errors.js';

export {
  ImageDataset,
  imagesToFloat,
  type BatchOptions,
  type DatasetHints,
  type ImageDatasetInit,
  type ImageStorage,
  type Normalization,
} from './dataset/image-dataset.js';
export { EmbeddingDataset, type EmbeddingDatasetInit } from './dataset/embedding-dataset.js';
export { batchIndices, splitIndices, type BatchIndexOptions, type SplitOptions } from './dataset/indices.js';

export { readIdx, parseIdx, loadIdx, type IdxArray, type IdxDType, type IdxDatasetOptions } from './loaders/idx.js';
export {
  loadMnist,
  loadFashionMnist,
  MNIST_CLASSES,
  FASHION_MNIST_CLASSES,
  DEBIAN_FASHION_MNIST_DIR,
  type MnistOptions,
  type MnistSplit,
  type FashionMnistOptions,
} from './loaders/mnist.js';
export {
  parseCifarBatch,
  loadCifarBatches,
  loadCifar10,
  loadCifar100,
  CIFAR10_CLASSES,
  type CifarBatch,
  type CifarBatchOptions,
  type CifarLabels,
  type CifarSplit,
  type CifarVariant,
} from './loaders/cifar.js';
export { loadImageFolder, type ImageFolderOptions, type ImageFolderProgress } from './loaders/image-folder.js';
export {
  parseNpy,
  readNpy,
  writeNpy,
  loadNpyEmbeddings,
  loadRawEmbeddings,
  type NpyArray,
  type EmbeddingLoadOptions,
} from './loaders/embeddings.js';

export type { ImageBatch } from './augment/common.js';
export { rangePair } from './augment/common.js';
export { weakAugment, type WeakAugmentOptions } from './augment/weak.js';
export {
  strongAugment,
  applyOp,
  opParameter,
  cutoutInPlace,
  RANDAUGMENT_OPS,
  MAX_MAGNITUDE,
  STRONG_PRESETS,
  type RandAugmentOp,
  type StrongAugmentOptions,
} from './augment/randaugment.js';
export { simclrAugment, simclrViews, type ColorJitter, type SimclrAugmentOptions } from './augment/simclr.js';
