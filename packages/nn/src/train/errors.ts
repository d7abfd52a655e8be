/** Errors specific to training. Both survive duplicate installs through DcError's marker and their codes. */
import { DcError } from '@dc/core';

/**
 * The loss (or the gradient norm) of a step came out NaN or infinite. The step was not applied: the trainer
 * still holds the last good state (and wrote it to the checkpoint path when one is configured).
 */
export class TrainingDivergedError extends DcError {
  constructor(
    readonly epoch: number,
    readonly globalStep: number,
    readonly loss: number,
    readonly gradNorm: number,
    readonly checkpointPath: string | null,
  ) {
    super(
      `Training diverged at epoch ${epoch}, step ${globalStep}: loss = ${loss}, gradient norm = ${gradNorm}. ` +
        `The step was not applied; the trainer keeps the last good state${checkpointPath ? ` (saved to ${checkpointPath})` : ''}. ` +
        'Lower the learning rate, clip gradients (clipGradNorm) or check the inputs for NaN.',
      'TRAINING_DIVERGED',
    );
  }

  static override isInstance(value: unknown): value is TrainingDivergedError {
    return DcError.isInstance(value) && value.code === 'TRAINING_DIVERGED';
  }
}

/** A checkpoint file is not in the documented format, or does not fit the model being resumed. */
export class CheckpointError extends DcError {
  constructor(readonly path: string | null, reason: string) {
    super(`Invalid checkpoint${path ? ` '${path}'` : ''}: ${reason}`, 'CHECKPOINT_INVALID');
  }

  static override isInstance(value: unknown): value is CheckpointError {
    return DcError.isInstance(value) && value.code === 'CHECKPOINT_INVALID';
  }
}
