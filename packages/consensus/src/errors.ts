/** Errors specific to @dc/consensus; all are DcErrors with their own code, so `isInstance` works across copies. */
import { DcError } from '@dc/core';

function matches<T extends DcError>(code: string) {
  return (value: unknown): value is T => DcError.isInstance(value) && value.code === code;
}

/** No level of the HDBSCAN hierarchy gives exactly the requested number of clusters. */
export class NoExactCutError extends DcError {
  readonly requested: number;
  /** Every cluster count some cut of the hierarchy does give, ascending. */
  readonly achievable: readonly number[];
  readonly minClusterSize: number;

  constructor(requested: number, achievable: readonly number[], minClusterSize: number) {
    const shown = achievable.length <= 12 ? achievable.join(', ') : `${achievable.slice(0, 12).join(', ')}, ...`;
    super(
      `No cut of the HDBSCAN hierarchy gives exactly ${requested} clusters of at least ${minClusterSize} points; ` +
        `cuts give ${achievable.length ? shown : 'no clusters at all'} cluster(s). Try another minClusterSize or cluster count.`,
      'NO_EXACT_CUT',
    );
    this.requested = requested;
    this.achievable = achievable;
    this.minClusterSize = minClusterSize;
  }

  static override isInstance = matches<NoExactCutError>('NO_EXACT_CUT');
}

/**
 * SPC's first round could use no member: each one's clustering of its latent codes was left out (no exact cut into
 * K clusters, a cut that left too much noise, or a Gaussian mixture with an empty component).
 */
export class SpcNoClusteringError extends DcError {
  readonly nClusters: number;
  /** Why each member (and the concatenated codes, when they vote) was left out, in member order. */
  readonly reasons: readonly string[];

  constructor(nClusters: number, reasons: readonly string[]) {
    super(
      `SPC cannot start: no member could be clustered into exactly ${nClusters} clusters (member 0: ${reasons[0] ?? 'no reason given'}). ` +
        "Try clusterer 'gmm', another hdbscan.minClusterSize or a higher hdbscan.maxNoiseFraction.",
      'SPC_NO_CLUSTERING',
    );
    this.nClusters = nClusters;
    this.reasons = reasons;
  }

  static override isInstance = matches<SpcNoClusteringError>('SPC_NO_CLUSTERING');
}

/** A Gaussian mixture component's covariance is not positive definite (collapsed or too few points). */
export class SingularCovarianceError extends DcError {
  readonly component: number;
  readonly regCovar: number;

  constructor(component: number, regCovar: number) {
    super(
      `The covariance of mixture component ${component} is singular (not positive definite): its points are collapsed ` +
        `or too few. Use fewer components, or a larger regCovar (now ${regCovar}).`,
      'SINGULAR_COVARIANCE',
    );
    this.component = component;
    this.regCovar = regCovar;
  }

  static override isInstance = matches<SingularCovarianceError>('SINGULAR_COVARIANCE');
}
