/**
 * Keras's applications: image classification architectures with Keras's layer names, shapes and parameter
 * counts, as bases for transfer learning. `applications.MobileNetV2(options)`, and per family, as Keras's
 * modules: `applications.mobilenetV2.preprocessInput(x)`.
 */
export { ApplicationArgs } from './imagenet-utils';
export { MobileNetV2, MobileNetV2Args } from './mobilenet-v2';
export { ResNet50, ResNet50Args } from './resnet50';
export { VGG16, VGG16Args } from './vgg16';
export { EfficientNetB0, EfficientNetArgs } from './efficientnet';
export * as mobilenetV2 from './mobilenet-v2';
export * as resnet50 from './resnet50';
export * as vgg16 from './vgg16';
export * as efficientnet from './efficientnet';
