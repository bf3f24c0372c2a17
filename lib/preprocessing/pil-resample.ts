/**
 * PIL's `Image.resize` with a convolution filter (Pillow's Resample.c), which Keras's load_img calls for
 * every interpolation but 'nearest': a horizontal pass into 8-bit rows, then a vertical pass, each output
 * pixel a weighted sum of the source pixels under the filter, the filter widened by the scale when
 * shrinking, the weights rounded to 22-bit fixed point as Pillow rounds them. RGBA is resized premultiplied
 * by its alpha and divided back, as Pillow's resize goes through its 'RGBa' mode. It runs on the event loop
 * in slices of a fraction of a millisecond, yielding between them: a large image does not hold the loop.
 */

export type ResampleFilter = 'box' | 'bilinear' | 'hamming' | 'bicubic' | 'lanczos';

/** Pillow's filters: the kernel and its support (the half-width at scale 1). */
const FILTERS: Record<ResampleFilter, { support: number; kernel: (x: number) => number }> = {
  box: { support: 0.5, kernel: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: {
    support: 1,
    kernel: (x) => {
      const a = Math.abs(x);
      return a < 1 ? 1 - a : 0;
    },
  },
  hamming: {
    support: 1,
    kernel: (x) => {
      const a = Math.abs(x);
      if (a === 0) return 1;
      if (a >= 1) return 0;
      const t = a * Math.PI;
      return (Math.sin(t) / t) * (0.54 + 0.46 * Math.cos(t));
    },
  },
  bicubic: {
    support: 2,
    kernel: (x) => {
      const a = -0.5; // Pillow's cubic, as Keys's a = -0.5
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, kernel: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

function sinc(x: number): number {
  if (x === 0) return 1;
  const t = x * Math.PI;
  return Math.sin(t) / t;
}

const PRECISION_BITS = 32 - 8 - 2;

interface Coefficients {
  /** Per output pixel: the first source pixel it reads and how many. */
  first: Int32Array;
  count: Int32Array;
  /** `size` fixed-point weights per output pixel. */
  weights: Int32Array;
  size: number;
}

/**
 * Pillow's precompute_coeffs and normalize_coeffs_8bpc for one axis: `outSize` pixels from the source span
 * [start, end) of an axis of `inSize` pixels (the filter may read past the span, not past the axis).
 */
function coefficients(inSize: number, start: number, end: number, outSize: number, filter: ResampleFilter): Coefficients {
  const { support: baseSupport, kernel } = FILTERS[filter];
  const scale = (end - start) / outSize;
  const filterScale = Math.max(scale, 1);
  const support = baseSupport * filterScale;
  const size = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * size);
  const row = new Float64Array(size);
  for (let o = 0; o < outSize; o++) {
    const center = start + (o + 0.5) * scale;
    // Pillow truncates toward zero after adding 0.5 (C's cast), then clamps.
    const min = Math.max(Math.trunc(center - support + 0.5), 0);
    const max = Math.min(Math.trunc(center + support + 0.5), inSize) - min;
    let total = 0;
    for (let i = 0; i < max; i++) {
      row[i] = kernel((i + min - center + 0.5) / filterScale);
      total += row[i];
    }
    for (let i = 0; i < max; i++) {
      const w = total !== 0 ? row[i] / total : row[i];
      weights[o * size + i] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    first[o] = min;
    count[o] = max;
  }
  return { first, count, weights, size };
}

/** Multiply-adds per slice of work between two turns of the event loop (a fraction of a millisecond). */
const TAPS_PER_SLICE = 1 << 16;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Pillow's clip8: the fixed-point sum back to a byte. */
function clip8(sum: number): number {
  const value = sum >> PRECISION_BITS;
  return value < 0 ? 0 : value > 255 ? 255 : value;
}

/** A source region [left, top, right, bottom], as PIL's `resize(box=...)`. */
export type ResizeBox = [number, number, number, number];

/**
 * Resizes 8-bit channels-last pixels as PIL's `Image.resize(size, filter, box)` for an image of 1, 3 or 4
 * channels (L, RGB, RGBA); `box` defaults to the whole image.
 */
export async function resizePil(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
  targetWidth: number,
  targetHeight: number,
  filter: ResampleFilter,
  box: ResizeBox = [0, 0, width, height],
): Promise<Uint8Array> {
  let taps = 0;
  const source = channels === 4 ? premultiply(pixels) : pixels;
  const [left, top, right, bottom] = box;
  const horizontal = coefficients(width, left, right, targetWidth, filter);
  const vertical = coefficients(height, top, bottom, targetHeight, filter);
  const needHorizontal = targetWidth !== width || left !== 0 || right !== targetWidth;
  const needVertical = targetHeight !== height || top !== 0 || bottom !== targetHeight;
  let current = source;
  let rowsStart = 0;
  let rows = height;
  if (needHorizontal) {
    // Only the source rows the vertical pass reads are resized horizontally, as Pillow does.
    rowsStart = vertical.first[0];
    const rowsEnd = vertical.first[targetHeight - 1] + vertical.count[targetHeight - 1];
    rows = rowsEnd - rowsStart;
    const out = new Uint8Array(targetWidth * rows * channels);
    const { first, count, weights, size } = horizontal;
    for (let y = 0; y < rows; y++) {
      const line = (y + rowsStart) * width * channels;
      for (let x = 0; x < targetWidth; x++) {
        for (let c = 0; c < channels; c++) {
          let sum = 1 << (PRECISION_BITS - 1);
          for (let i = 0; i < count[x]; i++) sum += current[line + (first[x] + i) * channels + c] * weights[x * size + i];
          out[(y * targetWidth + x) * channels + c] = clip8(sum);
        }
        taps += count[x] * channels;
      }
      if (taps >= TAPS_PER_SLICE) {
        taps = 0;
        await nextTurn();
      }
    }
    current = out;
  }
  if (needVertical) {
    const out = new Uint8Array(targetWidth * targetHeight * channels);
    const { first, count, weights, size } = vertical;
    const stride = targetWidth * channels;
    for (let y = 0; y < targetHeight; y++) {
      const start = first[y] - rowsStart;
      for (let j = 0; j < stride; j++) {
        let sum = 1 << (PRECISION_BITS - 1);
        for (let i = 0; i < count[y]; i++) sum += current[(start + i) * stride + j] * weights[y * size + i];
        out[y * stride + j] = clip8(sum);
      }
      taps += count[y] * stride;
      if (taps >= TAPS_PER_SLICE) {
        taps = 0;
        await nextTurn();
      }
    }
    current = out;
  }
  if (current === pixels) current = pixels.slice();
  return channels === 4 ? unpremultiply(current) : current;
}

/** Pillow's RGBA to RGBa: each colour times alpha / 255, rounded as its MULDIV255. */
function premultiply(pixels: Uint8Array): Uint8Array {
  const out = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i += 4) {
    const alpha = pixels[i + 3];
    for (let c = 0; c < 3; c++) {
      const t = pixels[i + c] * alpha + 128;
      out[i + c] = ((t >> 8) + t) >> 8;
    }
    out[i + 3] = alpha;
  }
  return out;
}

/** Pillow's RGBa to RGBA: each colour times 255 / alpha, truncated and clipped; alpha 0 and 255 kept as they are. */
function unpremultiply(pixels: Uint8Array): Uint8Array {
  const out = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i += 4) {
    const alpha = pixels[i + 3];
    for (let c = 0; c < 3; c++) {
      out[i + c] = alpha === 0 || alpha === 255 ? pixels[i + c] : Math.min(Math.trunc((255 * pixels[i + c]) / alpha), 255);
    }
    out[i + 3] = alpha;
  }
  return out;
}
