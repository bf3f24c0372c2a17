/** What `import { data } from 'keras-torch'` holds: Datasets and the ways to make them. */
export { Dataset, Batched, BatchArgs, ShuffleArgs, fromGenerator, array } from './dataset';
