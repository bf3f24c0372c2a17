/**
 * The part of the protocol buffers wire format a writer of ONNX files needs: varints (int32, int64, enums),
 * 32-bit floats and length-delimited fields (strings, bytes, nested messages). Fields are written in the
 * order they are added (a repeated field is its value written once per element); a message is the
 * concatenation of its fields.
 */

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LENGTH_DELIMITED = 2;

/** One protocol buffers message, built field by field. */
export class ProtobufMessage {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  /** An integer field (int32, int64 or enum); negative values take ten bytes, as protobuf's int64 does. */
  int(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.push(varint(value));
    return this;
  }

  /** A 32-bit float field. */
  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.push(bytes);
    return this;
  }

  /** A UTF-8 string field. */
  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  /** A bytes field. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.push(varint(value.length));
    this.push(value);
    return this;
  }

  /** A nested message field. */
  message(field: number, value: ProtobufMessage): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.push(varint(value.length));
    for (const part of value.parts) this.push(part);
    return this;
  }

  /** The message's bytes. */
  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.length);
  }

  private tag(field: number, wireType: number): void {
    this.push(varint(field * 8 + wireType));
  }

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }
}

/** Base-128 varint of an integer; negative numbers as their 64-bit two's complement. */
function varint(value: number | bigint): Uint8Array {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`protobuf: expected an integer but received ${value}`);
  let rest = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    bytes.push(rest === 0n ? low : low | 0x80);
  } while (rest !== 0n);
  return Uint8Array.from(bytes);
}
