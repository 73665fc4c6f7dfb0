// MJPEG (multipart/x-mixed-replace) framing: parts by Content-Length, a boundary scan where the
// length is missing or wrong, resynchronisation after garbage, and a JPEG sanity check (SOI,
// EOI, a frame header) before a part counts as a frame.

export interface JpegInfo {
  width: number;
  height: number;
  /** From a COM segment `omnisight-ts=<ms>`, when present. */
  ts: number | undefined;
}

export type BadFrameReason = 'garbage' | 'truncated' | 'not_jpeg' | 'oversized' | 'bad_headers';

export interface ParsedFrame {
  jpeg: Buffer;
  /** The capture time: part header X-Frame-Timestamp, else the COM segment; undefined if neither. */
  ts: number | undefined;
  width: number;
  height: number;
}

/** `multipart/x-mixed-replace; boundary=foo` → `foo` (quotes and a leading `--` removed). */
export function boundaryFrom(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\//i.test(contentType.trim())) return undefined;
  const m = /boundary\s*=\s*(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  const b = m?.[1] ?? m?.[2];
  return b ? b.replace(/^--/, '') : undefined;
}

/** Walks the JPEG markers up to SOS; undefined when it is not a complete baseline/progressive JPEG. */
export function inspectJpeg(buf: Buffer): JpegInfo | undefined {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return undefined;
  let end = buf.length;
  while (end > 2 && (buf[end - 1] === 0x0a || buf[end - 1] === 0x0d)) end--;
  if (buf[end - 2] !== 0xff || buf[end - 1] !== 0xd9) return undefined;
  let i = 2;
  let width = 0;
  let height = 0;
  let ts: number | undefined;
  while (i + 4 <= end) {
    if (buf[i] !== 0xff) return undefined;
    const marker = buf[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue; // fill byte
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    const len = buf.readUInt16BE(i + 2);
    if (len < 2 || i + 2 + len > end) return undefined;
    if (marker === 0xfe) {
      const m = /omnisight-ts=(\d{1,16})/.exec(buf.toString('latin1', i + 4, i + 2 + len));
      if (m) ts = Number(m[1]);
    } else if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (len < 7) return undefined;
      height = buf.readUInt16BE(i + 5);
      width = buf.readUInt16BE(i + 7);
    } else if (marker === 0xda) {
      break;
    }
    i += 2 + len;
  }
  if (!width || !height) return undefined;
  return { width, height, ts };
}

export interface MjpegParserOptions {
  boundary: string;
  maxFrameBytes?: number;
  onFrame: (f: ParsedFrame) => void;
  onBad: (reason: BadFrameReason, bytes: number) => void;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const EOI = Buffer.from([0xff, 0xd9]);
const MAX_HEADER_BYTES = 4096;
/** What may follow `--boundary` on its line (`--` at the end, transport padding). */
const MAX_BOUNDARY_LINE = 256;

/** Incremental parser: push() chunks as they arrive; frames and bad parts come out as callbacks. */
export class MjpegParser {
  private buf: Buffer = Buffer.alloc(0);
  private state: 'seek' | 'headers' | 'body' = 'seek';
  private readonly delim: Buffer;
  private readonly maxFrame: number;
  private part: { length: number | undefined; ts: number | undefined } = { length: undefined, ts: undefined };

  constructor(private readonly o: MjpegParserOptions) {
    this.delim = Buffer.from(`--${o.boundary}`);
    this.maxFrame = o.maxFrameBytes ?? 8 * 1024 * 1024;
  }

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const progressed = this.state === 'seek' ? this.seek() : this.state === 'headers' ? this.headers() : this.body();
      if (!progressed) break;
    }
    // Each state bounds what it keeps; this is the backstop that holds whatever a state forgot.
    if (this.buf.length > this.maxBuffered) this.resync('oversized', this.buf.length);
  }

  /** The most any state may hold between pushes: one frame plus its headers and boundary line. */
  private get maxBuffered(): number {
    return this.maxFrame + MAX_HEADER_BYTES + this.delim.length + MAX_BOUNDARY_LINE + 4;
  }

  /** Bytes held between pushes (for tests and memory accounting). */
  get buffered(): number {
    return this.buf.length;
  }

  private seek(): boolean {
    const at = this.buf.indexOf(this.delim);
    if (at < 0) {
      // Keep a tail that could be the start of a boundary split across chunks.
      const keep = this.delim.length - 1;
      if (this.buf.length > keep) {
        const dropped = this.buf.length - keep;
        if (!isWhitespace(this.buf.subarray(0, dropped))) this.o.onBad('garbage', dropped);
        this.buf = this.buf.subarray(dropped);
      }
      return false;
    }
    if (at > 0 && !isWhitespace(this.buf.subarray(0, at))) this.o.onBad('garbage', at);
    const eol = this.buf.indexOf('\r\n', at + this.delim.length);
    if (eol < 0) {
      this.buf = this.buf.subarray(at);
      // A boundary line never ends: without this bound the rest of the stream would pile up here.
      if (this.buf.length > this.delim.length + MAX_BOUNDARY_LINE) this.resync('bad_headers', this.buf.length);
      return false;
    }
    this.buf = this.buf.subarray(eol + 2);
    this.state = 'headers';
    return true;
  }

  private headers(): boolean {
    // A part may have no headers at all: the blank line comes first.
    const end = this.buf.subarray(0, 2).equals(Buffer.from('\r\n')) ? -2 : this.buf.indexOf(CRLF2);
    if (end === -1) {
      if (this.buf.length > MAX_HEADER_BYTES) this.resync('bad_headers', this.buf.length);
      return false;
    }
    const headerText = end < 0 ? '' : this.buf.toString('latin1', 0, end);
    this.buf = this.buf.subarray(end < 0 ? 2 : end + 4);
    let length: number | undefined;
    let ts: number | undefined;
    for (const line of headerText.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length' && /^\d{1,10}$/.test(value)) length = Number(value);
      else if (name === 'x-frame-timestamp' && /^\d{1,16}$/.test(value)) ts = Number(value);
    }
    if (length !== undefined && length > this.maxFrame) {
      this.o.onBad('oversized', length);
      length = undefined; // fall back to scanning; the scan enforces the size limit too
    }
    this.part = { length, ts };
    this.state = 'body';
    return true;
  }

  private body(): boolean {
    const { length } = this.part;
    if (length !== undefined) {
      if (this.buf.length < length) return false;
      const jpeg = this.buf.subarray(0, length);
      // A lying Content-Length shows as a part that does not end in EOI; scan instead.
      if (jpeg.length >= 2 && jpeg[length - 2] === 0xff && jpeg[length - 1] === 0xd9) {
        this.buf = this.buf.subarray(length);
        this.emit(Buffer.from(jpeg));
        this.state = 'seek';
        return true;
      }
      // A length that runs into the next part lies: scan for the boundary instead. Otherwise the
      // declared bytes are a broken part; drop them and let seek() count any junk after them.
      if (jpeg.indexOf(this.delim) < 0) {
        this.buf = this.buf.subarray(length);
        this.emit(Buffer.from(jpeg));
        this.state = 'seek';
        return true;
      }
      this.part.length = undefined;
    }
    const next = this.buf.indexOf(this.delim);
    if (next < 0) {
      if (this.buf.length > this.maxFrame) this.resync('oversized', this.buf.length);
      return false;
    }
    let end = next;
    while (end > 0 && (this.buf[end - 1] === 0x0a || this.buf[end - 1] === 0x0d)) end--;
    // Without a length, junk between EOI and the boundary is indistinguishable from the part:
    // cut at the last EOI and count what follows as garbage.
    const eoi = this.buf.subarray(0, end).lastIndexOf(EOI);
    if (eoi >= 0 && eoi + 2 < end) {
      this.o.onBad('garbage', end - eoi - 2);
      end = eoi + 2;
    }
    const jpeg = Buffer.from(this.buf.subarray(0, end));
    this.buf = this.buf.subarray(next);
    this.emit(jpeg);
    this.state = 'seek';
    return true;
  }

  private emit(jpeg: Buffer): void {
    const info = inspectJpeg(jpeg);
    if (!info) {
      this.o.onBad(jpeg.length >= 2 && jpeg[0] === 0xff && jpeg[1] === 0xd8 ? 'truncated' : 'not_jpeg', jpeg.length);
      return;
    }
    this.o.onFrame({ jpeg, ts: this.part.ts ?? info.ts, width: info.width, height: info.height });
  }

  private resync(reason: BadFrameReason, bytes: number): void {
    this.o.onBad(reason, bytes);
    this.buf = Buffer.alloc(0);
    this.state = 'seek';
  }
}

function isWhitespace(b: Buffer): boolean {
  for (const c of b) if (c !== 0x0d && c !== 0x0a && c !== 0x20 && c !== 0x09) return false;
  return true;
}
