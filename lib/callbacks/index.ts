/** The callbacks Keras ships, besides History and the progress bar. */
export { EarlyStopping, EarlyStoppingArgs } from './early-stopping';
export { ModelCheckpoint, ModelCheckpointArgs, CheckpointModel } from './model-checkpoint';
export { ReduceLROnPlateau, ReduceLROnPlateauArgs } from './reduce-lr-on-plateau';
export { LearningRateScheduler, Schedule } from './lr-scheduler';
export { TerminateOnNaN } from './terminate-on-nan';
export { CSVLogger } from './csv-logger';
export { LambdaCallback, LambdaCallbackArgs } from './lambda';
export { MonitorMode } from './monitor';
export { TensorBoard, TensorBoardArgs } from './tensorboard';
export { JSONLogger, JSONLoggerArgs } from './json-logger';
export { BackupAndRestore, BackupAndRestoreArgs } from './backup-and-restore';
