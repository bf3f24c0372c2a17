/**
 * Encoded images in memory (the bodies of HTTP requests) to one batch tensor for predict: JPEGs decoded,
 * converted, resized and rescaled in one native call off the event loop (native/image_decode.cc, the
 * directory iterators' decoder), the rest (PNG, CMYK, other resampling) decoded with sharp as loadImg
 * does. The pixels are those `loadImg(buffer, options)` gives, times `rescale`.
 */
import { invalidArgument, ValueError } from '../errors';
import { Tensor, tensor } from '../tensor';
import { checkFiniteNumber, checkKnownOptions, checkPlainObject } from '../validation';
import { channelsOf, checkDecodeSettings, ColorMode, decodeImage, LoadImgOptions, PIL_MAX_PIXELS } from './image';
import { nativeBufferDecoder } from './native';

export interface ImageBatchOptions extends LoadImgOptions {
  /** Multiplies every pixel value, as ImageDataGenerator's `rescale` (1 / 255 for values in [0, 1]); default 1. */
  rescale?: number;
}

const COLOR_MODE_OF_CHANNELS: Record<number, ColorMode> = { 1: 'grayscale', 3: 'rgb', 4: 'rgba' };

/**
 * `buffers` (JPEG, PNG or any format loadImg reads) as a float32 tensor [n, height, width, channels].
 * `targetSize` and `colorMode` default to what `inputShape` (the model's, [height, width, channels]) asks.
 */
export async function imagesToBatch(context: string, buffers: unknown, options: ImageBatchOptions, inputShape?: readonly number[]): Promise<Tensor> {
  if (!Array.isArray(buffers) || buffers.length === 0 || !buffers.every((b) => b instanceof Uint8Array)) {
    throw invalidArgument(context, 'buffers to be a non-empty array of Buffers of encoded images (JPEG, PNG...)', buffers);
  }
  checkPlainObject(context, 'options', options);
  checkKnownOptions(context, options, ['targetSize', 'colorMode', 'interpolation', 'keepAspectRatio', 'rescale']);
  const imageInput = inputShape?.length === 3 ? inputShape : undefined;
  const settings = checkDecodeSettings(context, options, {
    targetSize: imageInput ? [imageInput[0], imageInput[1]] : undefined,
    colorMode: imageInput ? COLOR_MODE_OF_CHANNELS[imageInput[2]] : undefined,
  });
  if (!settings.targetSize) {
    throw new ValueError(`${context}: expected options.targetSize ([height, width]) for a model whose input is not an image of known size`);
  }
  const scale = Math.fround(checkFiniteNumber(context, 'rescale', options.rescale ?? 1));
  const [height, width] = settings.targetSize;
  const channels = channelsOf(settings.colorMode);
  const imageSize = height * width * channels;
  const images = buffers as Uint8Array[];

  let values: Float32Array;
  let statuses: Uint8Array;
  const decode = nativeBufferDecoder();
  if (decode) {
    const result = await decode(images, { height, width, channels, interpolation: settings.interpolation, keepAspectRatio: settings.keepAspectRatio, scale });
    values = result.values!;
    statuses = result.decoded;
  } else {
    values = new Float32Array(imageSize * images.length);
    statuses = new Uint8Array(images.length); // every image declined: sharp decodes them all
  }
  await Promise.all(
    images.map(async (bytes, k) => {
      const status = statuses[k];
      if (status === 1) return;
      if (status === 2) throw new Error(`${context}: could not decode buffers[${k}]: image file is truncated`);
      if (status === 3) throw new Error(`${context}: could not decode buffers[${k}]: Input image exceeds pixel limit (${PIL_MAX_PIXELS} pixels, PIL's)`);
      let pixels: Uint8Array;
      try {
        pixels = (await decodeImage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), settings, context)).data;
      } catch (error) {
        throw new Error((error as Error).message.replace('the image buffer', `buffers[${k}]`));
      }
      const slot = values.subarray(k * imageSize, (k + 1) * imageSize);
      for (let i = 0; i < imageSize; i++) slot[i] = pixels[i] * scale;
    }),
  );
  return tensor(values, [images.length, height, width, channels], 'float32');
}
