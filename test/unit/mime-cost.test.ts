/**
 * Worst cases for the message reader, each up to the 4 MiB a whole message may be: they must read to the
 * right attachments (or be refused with a 400 naming why) at a cost bounded by their size. The cost is
 * asserted through the reader's own work count, never a clock; the timings are the benchmark suite's
 * (`npm run bench -- parsers`).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../lambdas/core/errors.js';
import { scanMessage } from '../../lambdas/core/message-scan.js';
import { decodeEncodedWords, parseStructuredHeader } from '../../lambdas/core/mime-headers.js';
import { readAttachments, type MimeWork } from '../../lambdas/core/mime.js';

const MIB = 1024 * 1024;
const LIMIT = 4 * MIB;

async function* chunked(bytes: Buffer, size = MIB): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** Reads every attachment to the end, as a scan does, with the work the read cost. */
async function read(message: Buffer | string) {
  const bytes = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  const work: MimeWork = { inputBytes: 0, units: 0, budget: 0 };
  const found: { path: string; fileName: string | null; content: Buffer }[] = [];
  for await (const attachment of readAttachments(chunked(bytes), { maxBytes: LIMIT }, work)) {
    const parts: Buffer[] = [];
    for await (const chunk of attachment.body) parts.push(Buffer.from(chunk));
    found.push({ path: attachment.path, fileName: attachment.fileName, content: Buffer.concat(parts) });
  }
  return { found, work, size: bytes.length };
}

async function rejection(message: Buffer | string): Promise<{ error: unknown; work: MimeWork }> {
  const work: MimeWork = { inputBytes: 0, units: 0, budget: 0 };
  const bytes = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  try {
    for await (const attachment of readAttachments(chunked(bytes), { maxBytes: LIMIT }, work)) for await (const _ of attachment.body);
  } catch (error) {
    return { error, work };
  }
  throw new Error('the message was read without an error');
}

/** `levels` messages attached as they are inside one another, around `filler` up to `size` bytes. */
function nestedMessages(levels: number, filler: string, size = LIMIT): Buffer {
  const head = 'From: a@example.com\n' + 'Content-Type: message/rfc822\n\n'.repeat(levels) + 'Content-Type: application/octet-stream\n\n';
  return Buffer.from(head + filler.repeat(Math.floor((size - head.length) / filler.length)), 'latin1');
}

/** Pairs of a multipart/mixed and a message attached in it, `levels` deep, around newline-only lines. */
function nestedMultiparts(levels: number, size = LIMIT): { message: Buffer; innerBytes: number } {
  let head = 'From: a@example.com\n';
  let tail = '';
  for (let level = 0; level < levels; level++) {
    head += `Content-Type: multipart/mixed; boundary=b${level}\n\n--b${level}\nContent-Type: message/rfc822\n\n`;
    tail = `\n--b${level}--\n` + tail;
  }
  head += 'Content-Type: application/octet-stream\n\n';
  const innerBytes = size - head.length - tail.length;
  return { message: Buffer.from(head + '\n'.repeat(innerBytes) + tail, 'latin1'), innerBytes };
}

describe('reading a message costs its bytes, whatever its shape', () => {
  it('reads 31 messages attached inside one another around newline-only lines once, to the innermost attachment', async () => {
    const message = nestedMessages(31, '\n');
    const { found, work, size } = await read(message);
    expect(found.map((a) => a.path)).toEqual([Array.from({ length: 32 }, () => '1').join('.')]);
    const body = found[0]!.content;
    expect(body.length).toBe(message.length - message.indexOf('application/octet-stream\n\n') - 'application/octet-stream\n\n'.length);
    expect(body.every((byte) => byte === 0x0a)).toBe(true);
    expect(work.inputBytes).toBe(size);
    // Each byte is scanned once (plus one unit per header line), not once per level.
    expect(work.units).toBeLessThanOrEqual(size + 1024);
  });

  it('reads messages attached in multiparts 15 pairs deep, ending each at its delimiters, scanning each byte once', async () => {
    const { message, innerBytes } = nestedMultiparts(15);
    const { found, work, size } = await read(message);
    expect(found).toHaveLength(1);
    expect(found[0]!.path).toBe(Array.from({ length: 15 }, () => '1').join('.') + '.1');
    // The line ending before the innermost delimiter belongs to the delimiter.
    expect(found[0]!.content.length).toBe(innerBytes);
    expect(work.units).toBeLessThanOrEqual(size + 4096);
  });

  it('answers 400 invalid_request at the depth cap for 33 nested messages around newline-only lines, having read only their headers', async () => {
    const { error, work } = await rejection(nestedMessages(33, '\n'));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as Error).message).toMatch(/more than 32 deep/);
    expect(work.units).toBeLessThan(4096);
  });

  it('decodes 4 MiB of quoted-printable soft breaks to nothing, and soft-broken text to its characters, at one unit a byte', async () => {
    const head = 'From: a@example.com\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: quoted-printable\n\n';
    const breaks = await read(head + '=\n'.repeat((LIMIT - head.length) / 2 - 1));
    expect(breaks.found).toEqual([{ path: '1', fileName: null, content: Buffer.alloc(0) }]);
    expect(breaks.work.inputBytes).toBe(breaks.size);
    expect(breaks.work.units).toBeLessThanOrEqual(breaks.size + 1024);

    const pieces = Math.floor((LIMIT - head.length) / 5) - 1;
    const text = await read(head + 'ab=\r\n'.repeat(pieces));
    expect(text.found[0]!.content.toString('latin1')).toBe('ab'.repeat(pieces));
    expect(text.work.units).toBeLessThanOrEqual(text.size + 1024);
  });

  it('answers 400 invalid_request when quoted-printable attached messages nest so the same bytes are read again past the work budget, and opens a base64 one within it', async () => {
    // Quoted-printable leaves these bytes as they are, so each level decodes to nearly the whole message again.
    const levels = 8;
    const head =
      'From: a@example.com\n' + 'Content-Type: message/rfc822\nContent-Transfer-Encoding: quoted-printable\n\n'.repeat(levels) + 'Content-Type: text/csv; name=a.csv\n\n';
    const message = head + 'a'.repeat(75).concat('\n').repeat(Math.floor((LIMIT - head.length) / 76));
    const { error, work } = await rejection(message);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as Error).message).toMatch(/too much work to read for its size/);
    // Refused within one scan of the budget: the budget is checked before each part's bytes are decoded.
    expect(work.budget).toBeLessThanOrEqual(2.5 * work.inputBytes + 64 * 1024);
    expect(work.units).toBeLessThanOrEqual(work.budget + work.inputBytes);

    // A base64-encoded attached message holding a base64 attachment of 2 MiB is read twice in part, within the budget.
    const payload = randomBytes(2 * MIB);
    const inner = `From: b@example.com\r\nContent-Type: application/zip; name=p.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n${payload.toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n`;
    const outer = `From: a@example.com\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(inner).toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n`;
    const opened = await read(outer);
    expect(opened.found).toHaveLength(1);
    expect(opened.found[0]!.fileName).toBe('p.zip');
    expect(opened.found[0]!.content.equals(payload)).toBe(true);
    expect(opened.work.units).toBeLessThanOrEqual(opened.work.budget);
  });
});

describe('large header parameters', () => {
  const name = 'é'.repeat(90_000) + '.exe'; // 180 KB of UTF-8

  it('decodes a 180 KB RFC 2047 encoded word, alone and folded into many words in a message', async () => {
    const word = `=?utf-8?B?${Buffer.from(name).toString('base64')}?=`;
    expect(word.length).toBeGreaterThan(180_000);
    expect(decodeEncodedWords(word)).toBe(name);
    const q = `=?utf-8?Q?${[...Buffer.from(name)].map((b) => `=${b.toString(16).toUpperCase()}`).join('')}?=`;
    expect(decodeEncodedWords(q)).toBe(name);
    const words = Buffer.from(name)
      .toString('base64')
      .match(/.{1,20000}/g)!
      .map((piece) => `=?utf-8?B?${piece}?=`);
    const { found } = await read(`From: a@example.com\nContent-Type: application/octet-stream\nContent-Disposition: attachment;\n filename="${words.join('\n ')}"\n\nMZ\n`);
    expect(found[0]!.fileName).toBe(name.slice(0, 255));
  });

  it('decodes a 200 KB RFC 2231 filename*0= and its continuations, also on folded lines of a message (keeping 255 characters)', async () => {
    const encoded = encodeURIComponent(name);
    expect(parseStructuredHeader(`attachment; filename*0*=UTF-8''${encoded}`).params.get('filename')).toBe(name);
    const plain = 'a'.repeat(200_000);
    expect(parseStructuredHeader(`attachment; filename*0="${plain}"; filename*1=".exe"`).params.get('filename')).toBe(`${plain}.exe`);
    const third = Math.ceil(encoded.length / 3 / 3) * 3; // whole %XX escapes in each section
    const sections = [encoded.slice(0, third), encoded.slice(third, 2 * third), encoded.slice(2 * third)];
    const header = `attachment; filename*0*=UTF-8''${sections[0]}; filename*1*=${sections[1]}; filename*2*=${sections[2]}`;
    expect(parseStructuredHeader(header).params.get('filename')).toBe(name);

    const long = `été-${'a'.repeat(200_000)}.exe`;
    const pieces = long.slice(4).match(/.{1,15000}/g)!;
    const params = [`\n filename*0*=UTF-8''%C3%A9t%C3%A9-`, ...pieces.map((section, i) => `;\n filename*${i + 1}="${section}"`)].join('');
    const message = `From: a@example.com\nContent-Type: application/octet-stream\nContent-Disposition: attachment;${params}\n\nMZ\n`;
    expect(parseStructuredHeader(`attachment;${params.replaceAll('\n', '')}`).params.get('filename')).toBe(long);
    const { found } = await read(message);
    expect(found).toHaveLength(1);
    expect(found[0]!.fileName).toBe(long.slice(0, 255));
  });

  it('answers 400 invalid_request for a 180 KB encoded word on one header line of a message, never a stack overflow', async () => {
    const word = `=?utf-8?B?${Buffer.from(name).toString('base64')}?=`;
    const { error } = await rejection(`From: a@example.com\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename="${word}"\n\nMZ\n`);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as Error).message).toMatch(/header line of the message is longer than/);
  });
});

describe('an attachment whose base64 is not base64', () => {
  const withBody = (body: string) =>
    `From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/octet-stream; name=x.exe\r\nContent-Transfer-Encoding: base64\r\n\r\n${body}\r\n--b--\r\n`;

  it.each([
    ['punctuation around a few alphabet characters', '!!!!@@@@####abcd'],
    ['plain text', 'This is not base64, it is a sentence.'],
    ['padding at the start of a group', 'QUJD=QUJ'],
    ['a NUL byte', 'QUJD\u0000QUJD'],
  ])('answers 400 invalid_request for %s, giving no verdict', async (_name, body) => {
    const { error } = await rejection(withBody(body));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as Error).message).toMatch(/base64 content of part 1 is not base64/);
  });

  it('answers 400 invalid_request for a 4 MiB attachment with one stray character in the middle, which decodes without it', async () => {
    const encoded = randomBytes(2 * MIB).toString('base64').replace(/.{76}/g, '$&\r\n');
    expect((await read(withBody(encoded))).found[0]!.content.toString('base64')).toBe(encoded.replaceAll('\r\n', ''));
    expect((await read(withBody(' QUJD \r\nRA==\r\n\tRUY=\r\nR0g'))).found[0]!.content.toString()).toBe('ABCDEFGH');
    const middle = Math.floor(encoded.length / 2);
    const { error } = await rejection(withBody(`${encoded.slice(0, middle)}*${encoded.slice(middle)}`));
    expect(error).toBeInstanceOf(InvalidRequestError);
  });

  it('gives no verdict at all, and asks the store nothing, for a message with such an attachment', async () => {
    let asked = 0;
    const store = {
      getMany: async () => {
        asked++;
        return new Map();
      },
    };
    const scan = scanMessage(chunked(Buffer.from(withBody('!!!!@@@@####abcd'))), { maxBytes: LIMIT }, { store });
    await expect(scan).rejects.toBeInstanceOf(InvalidRequestError);
    expect(asked).toBe(0);
  });
});
