import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError, PayloadTooLargeError } from '../../lambdas/core/errors.js';
import { decodeEncodedWords, parseStructuredHeader } from '../../lambdas/core/mime-headers.js';
import { readAttachments, type MimeLimits } from '../../lambdas/core/mime.js';
import { EICAR } from '../support/reference.js';

const FIXTURE = readFileSync(new URL('../fixtures/three-attachments.eml', import.meta.url));
/** The bytes 0 to 255, the attachment of the message forwarded inside the fixture. */
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const NOTES =
  'Café notes: this line is long enough to need a soft line break in quoted-printable, and it carries an equals sign = too.\nSecond line.';

async function* chunked(bytes: Buffer, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** Reads every attachment of a message to the end, the way a scan does. */
async function attachmentsOf(message: string | Buffer, chunkSize = 64 * 1024, limits: Partial<MimeLimits> = {}) {
  const bytes = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  const found: { path: string; fileName: string | null; contentType: string; content: Buffer }[] = [];
  for await (const attachment of readAttachments(chunked(bytes, chunkSize), { maxBytes: 10 * 1024 * 1024, ...limits })) {
    const parts: Buffer[] = [];
    for await (const chunk of attachment.body) parts.push(Buffer.from(chunk));
    found.push({ path: attachment.path, fileName: attachment.fileName, contentType: attachment.contentType, content: Buffer.concat(parts) });
  }
  return found;
}

async function rejectionOf(message: string | Buffer, limits: Partial<MimeLimits> = {}): Promise<unknown> {
  try {
    await attachmentsOf(message, 64 * 1024, limits);
  } catch (error) {
    return error;
  }
  throw new Error('the message was read without an error');
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A message from lines, joined with the given line ending. */
const message = (lines: string[], eol = '\r\n') => lines.join(eol);

describe('readAttachments', () => {
  it('finds the three attachments of the fixture with their part numbers, names and decoded content', async () => {
    const found = await attachmentsOf(FIXTURE);
    expect(found.map(({ path, fileName, contentType }) => ({ path, fileName, contentType }))).toEqual([
      { path: '2', fileName: 'eicar.com', contentType: 'application/octet-stream' },
      { path: '3.2', fileName: 'build-résumé.bin', contentType: 'application/octet-stream' },
      { path: '4', fileName: 'café-notes.txt', contentType: 'text/plain' },
    ]);
    expect(found[0]!.content.toString('latin1')).toBe(EICAR);
    expect(found[1]!.content).toEqual(ALL_BYTES);
    expect(found[2]!.content.toString('utf8')).toBe(NOTES);
  });

  it('decodes the fixture as Python’s email package does (reference digests)', async () => {
    const found = await attachmentsOf(FIXTURE);
    expect(found.map((a) => sha256(a.content))).toEqual([
      '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f',
      '40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880',
      '7077f4ebcea3f2e853d086feab09a19393ea9ab8549db187ed6a4c66de881d4b',
    ]);
  });

  it.each([1, 3, 7, 76, 4096])('gives the same attachments whatever the chunk size (%i bytes)', async (size) => {
    const whole = await attachmentsOf(FIXTURE);
    expect(await attachmentsOf(FIXTURE, size)).toEqual(whole);
  });

  it('reads a message with CRLF line endings as it reads one with LF, keeping CRLF in quoted-printable text', async () => {
    const crlf = Buffer.from(FIXTURE.toString('latin1').replaceAll('\n', '\r\n'), 'latin1');
    const found = await attachmentsOf(crlf);
    expect(found.map((a) => a.path)).toEqual(['2', '3.2', '4']);
    expect(found[0]!.content.toString('latin1')).toBe(EICAR);
    expect(found[1]!.content).toEqual(ALL_BYTES);
    expect(found[2]!.content.toString('utf8')).toBe(NOTES.replace('\n', '\r\n'));
  });

  it('opens a base64-encoded attached message and numbers its attachment below it', async () => {
    const inner = message([
      'From: a@example.com',
      'Content-Type: multipart/mixed; boundary=in',
      '',
      '--in',
      'Content-Type: application/zip; name=payload.zip',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('PK fake zip').toString('base64'),
      '--in--',
    ]);
    const outer = message([
      'From: b@example.com',
      'Content-Type: multipart/mixed; boundary=out',
      '',
      '--out',
      'Content-Type: text/plain',
      '',
      'see attached',
      '--out',
      'Content-Type: message/rfc822',
      'Content-Transfer-Encoding: base64',
      '',
      ...Buffer.from(inner).toString('base64').match(/.{1,76}/g)!,
      '--out--',
      '',
    ]);
    const found = await attachmentsOf(outer);
    expect(found).toEqual([{ path: '2.1', fileName: 'payload.zip', contentType: 'application/zip', content: Buffer.from('PK fake zip') }]);
  });

  it('numbers the body of a message that is not multipart as part 1', async () => {
    const found = await attachmentsOf(
      message(['From: a@example.com', 'Content-Type: application/pdf', 'Content-Disposition: attachment; filename="r.pdf"', '', '%PDF-1.7', '']),
    );
    expect(found).toEqual([{ path: '1', fileName: 'r.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.7\r\n') }]);
  });

  it('reports no attachment for a message of text alone', async () => {
    const found = await attachmentsOf(
      message([
        'From: a@example.com',
        'Content-Type: multipart/alternative; boundary=alt',
        '',
        '--alt',
        'Content-Type: text/plain',
        '',
        'hello',
        '--alt',
        'Content-Type: text/html',
        '',
        '<p>hello</p>',
        '--alt--',
      ]),
    );
    expect(found).toEqual([]);
  });

  it('counts unnamed parts that are not message text, and text marked as an attachment, as attachments', async () => {
    const found = await attachmentsOf(
      message([
        'From: a@example.com',
        'Content-Type: multipart/mixed; boundary=b',
        '',
        '--b',
        'Content-Type: image/png',
        '',
        'png bytes',
        '--b',
        'Content-Type: text/plain',
        'Content-Disposition: attachment',
        '',
        'a text attachment',
        '--b--',
      ]),
    );
    expect(found.map((a) => [a.path, a.contentType, a.fileName])).toEqual([
      ['1', 'image/png', null],
      ['2', 'text/plain', null],
    ]);
  });

  it('decodes base64 padded on every line, and skips line breaks and transport padding', async () => {
    const lines = ['QUJD', 'RA==', 'RUY=', ' R0g= '];
    const found = await attachmentsOf(
      message(['From: a@example.com', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64', '', ...lines, '']),
    );
    expect(found[0]!.content.toString()).toBe('ABCDEFGH');
  });

  it('undoes quoted-printable soft breaks and escapes, drops transport white space and keeps a stray equals sign', async () => {
    const found = await attachmentsOf(
      message([
        'From: a@example.com',
        'Content-Type: multipart/mixed; boundary=b',
        '',
        '--b',
        'Content-Type: text/x-log; name=q.txt',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        'one =3D two=   ',
        ' three =ZZ end   ',
        'last',
        '--b--',
      ]),
    );
    expect(found[0]!.content.toString()).toBe('one = two three =ZZ end\r\nlast');
  });

  it('keeps an 8bit line longer than any header line intact', async () => {
    const long = 'x'.repeat(200_000);
    const found = await attachmentsOf(
      message(['From: a@example.com', 'Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: application/octet-stream', '', long, '--b--']),
      5000,
    );
    expect(found[0]!.content.toString()).toBe(long);
  });

  it('ends an unclosed inner multipart at a delimiter of the one around it, as mail clients do', async () => {
    const found = await attachmentsOf(
      message([
        'From: a@example.com',
        'Content-Type: multipart/mixed; boundary=outer',
        '',
        '--outer',
        'Content-Type: multipart/mixed; boundary=inner',
        '',
        '--inner',
        'Content-Type: application/octet-stream; name=a.bin',
        '',
        'A',
        '--outer',
        'Content-Type: application/octet-stream; name=b.bin',
        '',
        'B',
        '--outer--',
      ]),
    );
    expect(found.map((a) => [a.path, a.content.toString()])).toEqual([
      ['1.1', 'A'],
      ['2', 'B'],
    ]);
  });

  it('treats a part without a type in a multipart/digest as an attached message', async () => {
    const found = await attachmentsOf(
      message([
        'From: a@example.com',
        'Content-Type: multipart/digest; boundary=d',
        '',
        '--d',
        '',
        'From: c@example.com',
        'Content-Type: application/octet-stream; name=in-digest.bin',
        '',
        'D',
        '--d--',
      ]),
    );
    expect(found.map((a) => [a.path, a.fileName])).toEqual([['1.1', 'in-digest.bin']]);
  });

  it('skips the envelope line of a message saved from an mbox file', async () => {
    const found = await attachmentsOf(message(['From alice@example.com Thu Mar 30 10:00:00 2023', 'From: a@example.com', 'Content-Type: image/gif', '', 'GIF89a']));
    expect(found.map((a) => a.contentType)).toEqual(['image/gif']);
  });

  describe('rejects what it cannot read with certainty', () => {
    it.each([
      ['a body that does not start with headers', 'just some text\nand more\n', /not a MIME message/],
      ['a body with no header fields', '\nbody only\n', /no header fields/],
      ['an empty body', '', /empty/],
      ['a multipart without a boundary', message(['From: a@example.com', 'Content-Type: multipart/mixed', '', 'x']), /no boundary/],
      [
        'a multipart cut off before its closing delimiter',
        message(['From: a@example.com', 'Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: application/zip', 'Content-Transfer-Encoding: base64', '', 'UEsDBBQ']),
        /truncated/,
      ],
      [
        'a multipart that never reaches its first part',
        message(['From: a@example.com', 'Content-Type: multipart/mixed; boundary=b', '', 'preamble only']),
        /truncated/,
      ],
      [
        'a transfer encoding it cannot decode',
        message(['From: a@example.com', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: x-uuencode', '', 'begin 644 a']),
        /x-uuencode/,
      ],
    ])('%s', async (_name, input, pattern) => {
      const error = await rejectionOf(input);
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect((error as Error).message).toMatch(pattern);
    });

    it('a truncated multipart inside an attached message', async () => {
      const error = await rejectionOf(
        message([
          'From: a@example.com',
          'Content-Type: multipart/mixed; boundary=out',
          '',
          '--out',
          'Content-Type: message/rfc822',
          '',
          'From: b@example.com',
          'Content-Type: multipart/mixed; boundary=in',
          '',
          '--in',
          'Content-Type: application/zip',
          '',
          'PK',
          '--out--',
        ]),
      );
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect((error as Error).message).toMatch(/part 1 ends without its closing boundary/);
    });

    it('more parts than the limit', async () => {
      const parts = Array.from({ length: 5 }, () => ['--b', 'Content-Type: image/png', '', 'x']).flat();
      const error = await rejectionOf(message(['From: a@example.com', 'Content-Type: multipart/mixed; boundary=b', '', ...parts, '--b--']), { maxParts: 4 });
      expect((error as Error).message).toMatch(/more than 4 MIME parts/);
    });

    it('nesting deeper than the limit', async () => {
      let body = message(['Content-Type: image/png', '', 'x']);
      for (let depth = 0; depth < 6; depth++) body = message([`Content-Type: multipart/mixed; boundary=b${depth}`, '', `--b${depth}`, body, `--b${depth}--`]);
      const error = await rejectionOf(`From: a@example.com\r\n${body}`, { maxDepth: 4 });
      expect((error as Error).message).toMatch(/more than 4 deep/);
    });

    it('a header block larger than the limit', async () => {
      const error = await rejectionOf(message(['From: a@example.com', `X-Long: ${'y'.repeat(2000)}`, '', 'body']), { maxHeaderBytes: 1024 });
      expect((error as Error).message).toMatch(/header block of the message is larger than 1024 bytes/);
    });

    it('a message over the byte limit, as payload_too_large', async () => {
      const error = await rejectionOf(message(['From: a@example.com', 'Content-Type: image/png', '', 'x'.repeat(5000)]), { maxBytes: 1000 });
      expect(error).toBeInstanceOf(PayloadTooLargeError);
    });
  });
});

describe('parseStructuredHeader', () => {
  it('reads the value, plain and quoted parameters, and ignores comments', () => {
    const header = parseStructuredHeader(' Multipart/Mixed (a comment); boundary="a;b\\"c"; charset=UTF-8');
    expect(header.value).toBe('multipart/mixed');
    expect(header.params.get('boundary')).toBe('a;b"c');
    expect(header.params.get('charset')).toBe('UTF-8');
  });

  it('joins RFC 2231 continuations and decodes their charset, preferring them to the plain parameter', () => {
    const header = parseStructuredHeader(
      `attachment; filename="fallback.txt"; filename*0*=ISO-8859-1''r%E9sum; filename*1*=%E9; filename*2=".pdf"`,
    );
    expect(header.params.get('filename')).toBe('résumé.pdf');
  });

  it('decodes RFC 2047 words that mailers put into parameters', () => {
    expect(parseStructuredHeader('attachment; filename="=?utf-8?B?w6lsw6h2ZS5kb2N4?="').params.get('filename')).toBe('élève.docx');
  });
});

describe('decodeEncodedWords', () => {
  it('joins adjacent words, so a character split across two of them survives', () => {
    expect(decodeEncodedWords('=?UTF-8?Q?caf=C3?= =?UTF-8?Q?=A9?= ok')).toBe('café ok');
  });

  it('decodes legacy charsets and keeps plain text around the words', () => {
    expect(decodeEncodedWords('Re: =?iso-8859-1?q?Gr=FC=DFe?= von =?windows-1252?B?gA==?=')).toBe('Re: Grüße von €');
  });

  it('falls back to UTF-8 for a charset it does not know', () => {
    expect(decodeEncodedWords('=?x-unknown?B?w6k=?=')).toBe('é');
  });
});
