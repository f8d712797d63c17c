// Random-access byte sources: an open file read by offset (nothing loaded up front) or bytes in memory.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

export interface ByteSource {
  readonly size: number;
  /** Exactly `length` bytes at `offset`; the caller checks bounds against `size` first. */
  read(offset: number, length: number): Uint8Array;
  /** Fills `dest` with the bytes at `offset` (straight from the file: no intermediate copy). */
  readInto(offset: number, dest: Uint8Array): void;
  close(): void;
}

export function memorySource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.byteLength,
    read: (offset, length) => bytes.subarray(offset, offset + length),
    readInto: (offset, dest) => dest.set(bytes.subarray(offset, offset + dest.byteLength)),
    close: () => {},
  };
}

export function fileSource(path: string): ByteSource {
  const fd = openSync(path, "r");
  const size = fstatSync(fd).size;
  let open = true;
  return {
    size,
    read(offset, length) {
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, out, done, length - done, offset + done);
        if (n === 0) break;
        done += n;
      }
      return done === length ? out : out.subarray(0, done);
    },
    readInto(offset, dest) {
      let done = 0;
      while (done < dest.byteLength) {
        const n = readSync(fd, dest, done, dest.byteLength - done, offset + done);
        if (n === 0) throw new RangeError(`file ends before byte ${offset + dest.byteLength}`);
        done += n;
      }
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}
