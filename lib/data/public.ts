/** What `import { data } from 'keras-torch'` holds: Datasets and the ways to make them. */
export { Dataset, Batched, BatchArgs, ShuffleArgs, Sliced, fromGenerator, fromTensorSlices, array } from './dataset';
