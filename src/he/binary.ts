import { HeInputError } from './errors.ts';

/** Builds a byte string from fixed-size fields; only what our envelope formats need. */
export class ByteWriter {
  readonly #parts: Uint8Array[] = [];

  bytes(value: Uint8Array): this {
    this.#parts.push(value);
    return this;
  }

  ascii(value: string): this {
    return this.bytes(new TextEncoder().encode(value));
  }

  u8(value: number): this {
    return this.bytes(Uint8Array.of(value));
  }

  u32(value: number): this {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, value, true);
    return this.bytes(out);
  }

  u64(value: bigint): this {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, value, true);
    return this.bytes(out);
  }

  /** A short string prefixed by its byte length (at most 255). */
  shortString(value: string): this {
    const encoded = new TextEncoder().encode(value);
    if (encoded.length > 255) throw new RangeError('string longer than 255 bytes');
    return this.u8(encoded.length).bytes(encoded);
  }

  finish(): Uint8Array {
    const total = this.#parts.reduce((sum, part) => sum + part.length, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const part of this.#parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}

/** Reads the fields `ByteWriter` wrote; any overrun is an `HeInputError` naming what was being read. */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #what: string;
  #offset = 0;

  constructor(bytes: Uint8Array, what: string) {
    this.#bytes = bytes;
    this.#what = what;
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  bytes(length: number): Uint8Array {
    if (length > this.remaining) throw new HeInputError(`${this.#what} is truncated`);
    // A plain Uint8Array view even when given a Buffer: SEAL's bindings refuse Buffer instances.
    const out = new Uint8Array(this.#bytes.buffer, this.#bytes.byteOffset + this.#offset, length);
    this.#offset += length;
    return out;
  }

  ascii(length: number): string {
    return new TextDecoder().decode(this.bytes(length));
  }

  u8(): number {
    return this.bytes(1)[0]!;
  }

  u32(): number {
    const field = this.bytes(4);
    return new DataView(field.buffer, field.byteOffset, 4).getUint32(0, true);
  }

  u64(): bigint {
    const field = this.bytes(8);
    return new DataView(field.buffer, field.byteOffset, 8).getBigUint64(0, true);
  }

  shortString(): string {
    return this.ascii(this.u8());
  }

  end(): void {
    if (this.remaining !== 0) throw new HeInputError(`${this.#what} has ${this.remaining} unexpected trailing bytes`);
  }
}
