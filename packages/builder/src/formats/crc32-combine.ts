// CRC-32 of two byte runs joined, from the CRC of each and the length of the second (zlib's
// crc32_combine, which Node does not expose). The initrd needs it to join cached deflate segments into one
// gzip member without reading their uncompressed bytes again.

const POLY = 0xedb88320;

function times(matrix: Uint32Array, vector: number): number {
  let sum = 0;
  let v = vector >>> 0;
  for (let i = 0; v !== 0; i++, v >>>= 1) if (v & 1) sum ^= matrix[i]!;
  return sum >>> 0;
}

function square(out: Uint32Array, matrix: Uint32Array): void {
  for (let n = 0; n < 32; n++) out[n] = times(matrix, matrix[n]!);
}

/** The CRC-32 of A followed by B, given crc(A), crc(B) and B's length in bytes. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB <= 0) return crcA >>> 0;
  // `odd` shifts the CRC register by one zero bit; squaring doubles the shift.
  let odd = new Uint32Array(32);
  let even = new Uint32Array(32);
  odd[0] = POLY;
  for (let n = 1; n < 32; n++) odd[n] = (1 << (n - 1)) >>> 0;
  square(even, odd); // 2 bits
  square(odd, even); // 4 bits
  let crc = crcA >>> 0;
  let len = lengthB;
  // Each pass shifts by the next power of two of bytes (8, 16, 32... bits) where `len` has a one bit.
  while (len > 0) {
    square(even, odd);
    [odd, even] = [even, odd];
    if (len % 2 === 1) crc = times(odd, crc);
    len = Math.floor(len / 2);
  }
  return (crc ^ crcB) >>> 0;
}
