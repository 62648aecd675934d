import type { DefinitionIssue } from './types';

/** Largest definition accepted, in bytes (1 MiB): a 30-backend pool is a few kB. */
export const MAX_DEFINITION_BYTES = 1024 * 1024;

/** The text of a definition file, or the file-level problem that prevents reading it. */
export type DecodedDefinition =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly issue: DefinitionIssue };

/**
 * Turns raw input into text: refuses more than 1 MiB before decoding, requires valid UTF-8 (a leading
 * byte-order mark is tolerated and dropped), never throws.
 */
export function decodeDefinitionText(input: string | Uint8Array): DecodedDefinition {
  if (typeof input === 'string') {
    const size = Buffer.byteLength(input, 'utf8');
    if (size > MAX_DEFINITION_BYTES) {
      return tooLarge(size);
    }
    return { ok: true, text: input.startsWith('\uFEFF') ? input.slice(1) : input };
  }
  if (input.byteLength > MAX_DEFINITION_BYTES) {
    return tooLarge(input.byteLength);
  }
  try {
    // fatal: a stray Latin-1 byte must be an error, not a silent U+FFFD; the BOM is dropped by default.
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(input) };
  } catch {
    return {
      ok: false,
      issue: {
        path: '$',
        message: `is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8Offset(input)}); save the file as UTF-8`,
      },
    };
  }
}

function tooLarge(size: number): DecodedDefinition {
  return {
    ok: false,
    issue: {
      path: '$',
      message: `is ${size} bytes; a pool definition may be at most ${MAX_DEFINITION_BYTES} bytes (1 MiB)`,
    },
  };
}

/** Byte offset of the first malformed UTF-8 sequence (only called once the decoder has refused the input). */
export function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let index = 0;
  while (index < bytes.length) {
    const lead = bytes[index] ?? 0;
    let length: number;
    let min: number;
    if (lead < 0x80) {
      index += 1;
      continue;
    } else if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
      min = 0x80;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      min = 0x800;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      min = 0x10000;
    } else {
      return index;
    }
    if (index + length > bytes.length) {
      return index;
    }
    let codePoint = lead & (0xff >> (length + 1));
    for (let offset = 1; offset < length; offset += 1) {
      const next = bytes[index + offset] ?? 0;
      if ((next & 0xc0) !== 0x80) {
        return index;
      }
      codePoint = (codePoint << 6) | (next & 0x3f);
    }
    if (codePoint < min || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
      return index;
    }
    index += length;
  }
  return bytes.length;
}
