/**
 * BMP and Netpbm (PBM, PGM, PPM) files, which Keras lists among image extensions and PIL reads, but sharp
 * (libvips without ImageMagick) does not. Decoded here to the bands PIL gives them (`Image.open` then
 * `convert('RGB')`); the rest of load_img's path (conversion, resizing) is the same as for other formats.
 */

/** Pixels as PIL's mode gives them: 1 band ('1', 'L'), 3 ('RGB') or 4 ('RGBA'), rows top to bottom. */
export interface Bitmap {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

/**
 * A BMP or Netpbm file's pixels, null for other formats; an Error saying what is wrong with a damaged one,
 * or with an image of more than `maxPixels` pixels (checked before anything is allocated).
 */
export function decodeBitmapFormats(bytes: Buffer, maxPixels: number): Bitmap | null {
  if (bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d) return decodeBmp(bytes, maxPixels);
  if (bytes.length >= 2 && bytes[0] === 0x50 && bytes[1] >= 0x31 && bytes[1] <= 0x36) return decodeNetpbm(bytes, maxPixels);
  return null;
}

function checkSize(format: string, width: number, height: number, maxPixels: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`${format} header declares a ${width}x${height} image`);
  }
  if (width * height > maxPixels) throw new Error(`Input image exceeds pixel limit (${width}x${height})`);
}

function truncated(format: string): Error {
  return new Error(`${format} file is truncated`);
}

function decodeBmp(bytes: Buffer, maxPixels: number): Bitmap {
  if (bytes.length < 26) throw truncated('BMP');
  const pixelOffset = bytes.readUInt32LE(10);
  const headerSize = bytes.readUInt32LE(14);
  let width: number;
  let rawHeight: number;
  let bitsPerPixel: number;
  let compression = 0;
  let paletteColours = 0;
  let paletteEntryBytes = 4;
  if (headerSize === 12) {
    width = bytes.readUInt16LE(18);
    rawHeight = bytes.readInt16LE(20);
    bitsPerPixel = bytes.readUInt16LE(24);
    paletteEntryBytes = 3;
  } else if (headerSize >= 40 && bytes.length >= 14 + 40) {
    width = bytes.readInt32LE(18);
    rawHeight = bytes.readInt32LE(22);
    bitsPerPixel = bytes.readUInt16LE(28);
    compression = bytes.readUInt32LE(30);
    paletteColours = bytes.readUInt32LE(46);
  } else {
    throw new Error(`BMP header of ${headerSize} bytes is not one PIL reads`);
  }
  const height = Math.abs(rawHeight);
  const bottomUp = rawHeight > 0;
  checkSize('BMP', width, height, maxPixels);
  // BI_RGB, or BI_BITFIELDS with the masks after the 40-byte header (or inside a V4/V5 header).
  let masks: number[] | null = null;
  if (compression === 3 || compression === 6) {
    const at = 14 + 40;
    if (bytes.length < at + 16) throw truncated('BMP');
    masks = [bytes.readUInt32LE(at), bytes.readUInt32LE(at + 4), bytes.readUInt32LE(at + 8), headerSize >= 56 || compression === 6 ? bytes.readUInt32LE(at + 12) : 0];
  } else if (compression !== 0) {
    const names: Record<number, string> = { 1: 'RLE8', 2: 'RLE4', 4: 'JPEG', 5: 'PNG' };
    throw new Error(`compressed BMP (${names[compression] ?? `compression ${compression}`}) is not supported; save it uncompressed or as PNG`);
  }
  const stride = Math.floor((width * bitsPerPixel + 31) / 32) * 4;
  if (pixelOffset + stride * height > bytes.length) throw truncated('BMP');
  const row = (y: number): number => pixelOffset + (bottomUp ? height - 1 - y : y) * stride;

  if (bitsPerPixel <= 8) {
    if (![1, 4, 8].includes(bitsPerPixel)) throw new Error(`BMP with ${bitsPerPixel} bits per pixel is not one PIL reads`);
    const colours = paletteColours || 2 ** bitsPerPixel;
    const paletteAt = 14 + headerSize;
    if (paletteAt + colours * paletteEntryBytes > bytes.length) throw truncated('BMP');
    const palette = new Uint8Array(256 * 3); // entries past the palette's end are black, as in PIL
    for (let i = 0; i < Math.min(colours, 256); i++) {
      const entry = paletteAt + i * paletteEntryBytes;
      palette[i * 3] = bytes[entry + 2];
      palette[i * 3 + 1] = bytes[entry + 1];
      palette[i * 3 + 2] = bytes[entry];
    }
    const data = new Uint8Array(width * height * 3);
    const perByte = 8 / bitsPerPixel;
    const mask = (1 << bitsPerPixel) - 1;
    for (let y = 0, o = 0; y < height; y++) {
      const start = row(y);
      for (let x = 0; x < width; x++, o += 3) {
        const byte = bytes[start + Math.floor(x / perByte)];
        const index = (byte >> ((perByte - 1 - (x % perByte)) * bitsPerPixel)) & mask;
        data[o] = palette[index * 3];
        data[o + 1] = palette[index * 3 + 1];
        data[o + 2] = palette[index * 3 + 2];
      }
    }
    return { data, width, height, channels: 3 };
  }

  if (bitsPerPixel === 24 && masks === null) {
    const data = new Uint8Array(width * height * 3);
    for (let y = 0, o = 0; y < height; y++) {
      for (let x = 0, p = row(y); x < width; x++, p += 3, o += 3) {
        data[o] = bytes[p + 2];
        data[o + 1] = bytes[p + 1];
        data[o + 2] = bytes[p];
      }
    }
    return { data, width, height, channels: 3 };
  }

  if (bitsPerPixel !== 16 && bitsPerPixel !== 32) throw new Error(`BMP with ${bitsPerPixel} bits per pixel is not one PIL reads`);
  // Without masks, 16 bits are 5-5-5 and 32 bits are BGRX (the fourth byte unused, as PIL reads it).
  const [red, green, blue, alpha] = masks ?? (bitsPerPixel === 16 ? [0x7c00, 0x03e0, 0x001f, 0] : [0xff0000, 0xff00, 0xff, 0]);
  const channels = alpha !== 0 ? 4 : 3;
  const fields = [red, green, blue, alpha].slice(0, channels).map(maskField);
  const data = new Uint8Array(width * height * channels);
  const bytesPerPixel = bitsPerPixel / 8;
  for (let y = 0, o = 0; y < height; y++) {
    for (let x = 0, p = row(y); x < width; x++, p += bytesPerPixel) {
      const value = bitsPerPixel === 16 ? bytes.readUInt16LE(p) : bytes.readUInt32LE(p);
      for (const field of fields) data[o++] = field(value);
    }
  }
  return { data, width, height, channels };
}

/** Python's round(): halves to the even neighbour. */
function roundHalfToEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  return fraction > 0.5 || (fraction === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
}

/** A bit field's value scaled to 0-255 (integer division, as PIL's unpackers for 15- and 16-bit pixels). */
function maskField(mask: number): (value: number) => number {
  if (mask === 0) return () => 0;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const largest = mask >>> shift;
  return (value) => Math.floor((((value & mask) >>> shift) * 255) / largest);
}

function decodeNetpbm(bytes: Buffer, maxPixels: number): Bitmap {
  const kind = bytes[1] - 0x30; // 1-3: plain text, 4-6: binary; PBM, PGM, PPM
  let offset = 2;
  const isSpace = (b: number): boolean => b === 0x20 || (b >= 0x09 && b <= 0x0d);
  const nextToken = (): number => {
    for (;;) {
      while (offset < bytes.length && isSpace(bytes[offset])) offset++;
      if (bytes[offset] !== 0x23) break; // '#': a comment to the end of the line
      while (offset < bytes.length && bytes[offset] !== 0x0a && bytes[offset] !== 0x0d) offset++;
    }
    const start = offset;
    while (offset < bytes.length && bytes[offset] >= 0x30 && bytes[offset] <= 0x39) offset++;
    if (offset === start) throw truncated('PPM');
    return Number(bytes.toString('latin1', start, offset));
  };
  const format = ['PBM', 'PGM', 'PPM'][(kind - 1) % 3];
  const width = nextToken();
  const height = nextToken();
  checkSize(format, width, height, maxPixels);
  const bitmap = format === 'PBM';
  const maxValue = bitmap ? 1 : nextToken();
  if (maxValue < 1 || maxValue > 255) {
    throw new Error(`${format} with maximum value ${maxValue} is not supported (8-bit files only: 1 to 255)`);
  }
  const channels = format === 'PPM' ? 3 : 1;
  const count = width * height * channels;
  const data = new Uint8Array(count);
  // PBM's 1 is black. Other maximum values are scaled to 0-255 as PIL's PPM decoders do: Python's
  // round(value / maxval * 255), values above maxval an error in plain files and 255 in binary ones.
  const scale = (v: number): number => {
    if (bitmap) return v ? 0 : 255;
    if (maxValue === 255) return v;
    if (v > maxValue && kind <= 3) throw new Error(`${format} value ${v} is above the file's maximum value ${maxValue}`);
    return Math.min(255, roundHalfToEven((v / maxValue) * 255));
  };
  if (kind <= 3) {
    for (let i = 0; i < count; i++) {
      if (bitmap) {
        // Plain PBM digits need not be separated.
        while (offset < bytes.length && (isSpace(bytes[offset]) || bytes[offset] === 0x23)) nextTokenSkip();
        if (offset >= bytes.length) throw truncated(format);
        data[i] = scale(bytes[offset++] === 0x31 ? 1 : 0);
      } else {
        data[i] = scale(nextToken());
      }
    }
    return { data, width, height, channels };
  }
  offset += 1; // the one whitespace byte after the header
  if (bitmap) {
    const stride = Math.ceil(width / 8);
    if (offset + stride * height > bytes.length) throw truncated(format);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) data[y * width + x] = scale((bytes[offset + y * stride + (x >> 3)] >> (7 - (x & 7))) & 1);
    }
    return { data, width, height, channels };
  }
  if (offset + count > bytes.length) throw truncated(format);
  for (let i = 0; i < count; i++) data[i] = scale(bytes[offset + i]);
  return { data, width, height, channels };

  function nextTokenSkip(): void {
    if (bytes[offset] === 0x23) while (offset < bytes.length && bytes[offset] !== 0x0a && bytes[offset] !== 0x0d) offset++;
    else offset++;
  }
}
