export {
  NO_COST,
  addCost,
  checkBudget,
  composeCosts,
  epsilonAt,
  pureToZcdp,
  rhoForEpsilon,
  zcdpToEpsilon,
  zcdpToEpsilonBunSteinke,
  zcdpToEpsilonCks,
  type BudgetCheck,
  type ComposedCost,
  type PrivacyBudget,
  type PrivacyCost,
} from './accountant.ts';
export {
  chain,
  makeBoundedCount,
  makeBoundedSum,
  makeBoundedSumOfSquares,
  type BoundedAggregate,
  type BoundedColumn,
  type BoundedSumOfSquares,
} from './bounding.ts';
export {
  makeDiscreteGaussian,
  makeDiscreteLaplace,
  makeFixedPoint,
  type DiscreteGaussianMeasurement,
  type DiscreteLaplaceMeasurement,
  type FixedPoint,
  type IntegerMeasurement,
  type NoisyInterval,
} from './mechanisms.ts';
export { discreteGaussianNoise, discreteLaplaceNoise, type IntegerNoise } from './noise.ts';
export {
  makePartitionSelection,
  selectPartition,
  type PartitionDecision,
  type PartitionSelection,
  type PartitionSelectionParams,
} from './partition-selection.ts';
export {
  QuantileSamplingError,
  makeQuantile,
  type QuantileMechanism,
  type QuantileParams,
  type QuantileRelease,
} from './quantile.ts';
export { PrivacyParameterError, rational, rationalFromNumber, type Rational } from './rational.ts';
export {
  makeDiscreteGaussianSampler,
  makeDiscreteLaplaceSampler,
  sampleBernoulli,
  sampleBernoulliExp,
  uniformBelow,
} from './samplers.ts';
