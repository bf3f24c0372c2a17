/** Image preprocessing: loading, augmentation and batch iterators, with Keras's names and semantics. */
export { Image, loadImg, imgToArray, arrayToImg, saveImg } from './image';
export type { ColorMode, Interpolation, LoadImgOptions, ArrayToImgOptions, SaveImgOptions } from './image';
export { ImageDataGenerator } from './image-data-generator';
export type { ImageDataGeneratorOptions, TransformParameters, FillMode, ShiftRange, FitOptions } from './image-data-generator';
export { ImageIterator } from './iterator';
export type { IteratorOptions } from './iterator';
export { DirectoryIterator } from './directory-iterator';
export type { ClassMode, FlowFromDirectoryOptions } from './directory-iterator';
export { DataFrameIterator } from './dataframe-iterator';
export type { DataFrameClassMode, DataFrameRecord, FlowFromDataframeOptions } from './dataframe-iterator';
export { ArrayIterator } from './array-iterator';
export type { FlowOptions } from './array-iterator';
export { ImageDataset, imageDatasetFromDirectory } from './dataset-from-directory';
export type { ImageDatasetOptions, LabelMode } from './dataset-from-directory';
