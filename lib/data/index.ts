/**
 * Data sources for fit, evaluate and predict: indexed BatchIterators (batch-iterator.ts) and Datasets,
 * chainable async iterables of samples or batches (dataset.ts).
 */
export * from './batch-iterator';
export { Dataset } from './dataset';
