import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../cli/errors.js';
import { splitFeed, type FeedChunk } from '../../cli/feed-chunks.js';
import { parseCsv, parseImport } from '../../lambdas/core/import-formats.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const texts = (chunks: FeedChunk[]) => chunks.map((chunk) => chunk.body.toString('utf8'));

/** A JSON Lines feed of `count` records, some with non-ASCII names, with an invalid line every `badEvery`. */
function jsonLinesFeed(count: number, badEvery = 0): string {
  const lines: string[] = [];
  for (let i = 1; i <= count; i++) {
    if (badEvery > 0 && i % badEvery === 0) lines.push(`{"sha256": "not a digest ${i}"}`);
    else lines.push(JSON.stringify({ sha256: sha256(String(i)), fileName: `Größe-${i}.dll`, campaign: 'c', sources: ['s'] }));
    if (i % 7 === 0) lines.push('');
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** A CSV feed whose rows hold quoted commas, quotes and line breaks, and quotes inside unquoted fields. */
function csvFeed(rows: number): string {
  const lines = ['sha256,file_name,campaign,sources'];
  for (let i = 1; i <= rows; i++) {
    const name = i % 3 === 0 ? `"two\nline ""name"", ${i}.exe"` : i % 5 === 0 ? `a 3.5" disk-${i}.img` : `plain-${i}.exe`;
    lines.push(`${i % 11 === 0 ? 'zz' : sha256(String(i))},${name},c,s`);
  }
  return `${lines.join('\n')}\n`;
}

describe('splitFeed', () => {
  it('leaves a feed that fits in one request as it is', () => {
    const body = Buffer.from(jsonLinesFeed(10));

    expect(splitFeed(body, 'jsonl', body.length)).toEqual([{ body, lineOffset: 0 }]);
  });

  it('splits JSON Lines at line ends into chunks under the limit, which put back together are the file', () => {
    const text = jsonLinesFeed(500);
    const chunks = splitFeed(Buffer.from(text), 'jsonl', 4096);

    expect(chunks.length).toBeGreaterThan(10);
    for (const chunk of chunks) {
      expect(chunk.body.length).toBeLessThanOrEqual(4096);
      expect(chunk.body.toString('utf8')).not.toContain('\uFFFD');
    }
    expect(texts(chunks).join('')).toBe(text);
    for (const [i, chunk] of chunks.entries()) {
      expect(texts([chunk])[0]!.endsWith('\r\n'), `chunk ${i} ends a line`).toBe(true);
      expect(text.split('\n')[chunk.lineOffset]).toBe(texts([chunk])[0]!.split('\n')[0]);
    }
  });

  it('maps the line numbers the service reports for each chunk back to the lines of the file', () => {
    const text = jsonLinesFeed(400, 37);
    const whole = parseImport(text, { format: 'jsonl' }).rejected;

    const chunks = splitFeed(Buffer.from(text), 'jsonl', 8192);
    const mapped = chunks.flatMap((chunk) =>
      parseImport(chunk.body.toString('utf8'), { format: 'jsonl' }).rejected.map((r) => ({ ...r, line: r.line! + chunk.lineOffset })),
    );

    expect(chunks.length).toBeGreaterThan(5);
    expect(whole.length).toBe(10);
    expect(mapped).toEqual(whole);
  });

  it('puts the CSV header on every chunk, keeps quoted line breaks inside their row, and maps row lines back', () => {
    const text = csvFeed(300);
    const [header, ...rows] = parseCsv(text);
    const chunks = splitFeed(Buffer.from(text), 'csv', 2048);

    expect(chunks.length).toBeGreaterThan(5);
    const seen = chunks.flatMap((chunk) => {
      expect(chunk.body.length).toBeLessThanOrEqual(2048);
      const [chunkHeader, ...chunkRows] = parseCsv(chunk.body.toString('utf8'));
      expect(chunkHeader!.fields).toEqual(header!.fields);
      return chunkRows.map((row) => ({ line: row.line + chunk.lineOffset, fields: row.fields }));
    });
    expect(seen).toEqual(rows);

    const whole = parseImport(text, { format: 'csv' }).rejected;
    const mapped = chunks.flatMap((chunk) =>
      parseImport(chunk.body.toString('utf8'), { format: 'csv' }).rejected.map((r) => ({ ...r, line: r.line! + chunk.lineOffset })),
    );
    expect(whole.length).toBeGreaterThan(20);
    expect(mapped).toEqual(whole);
  });

  it('takes the first row with a value as the CSV header, as the service does, past blank lines and CRLF', () => {
    const text = `\r\n,,\r\nmd5,campaign,sources\r\n${Array.from({ length: 40 }, (_, i) => `${sha256(String(i)).slice(0, 32)},c,s`).join('\r\n')}\r\n`;
    const chunks = splitFeed(Buffer.from(text), 'csv', 400);

    const rows = parseCsv(text).slice(1);
    const seen = chunks.flatMap((chunk) => parseCsv(chunk.body.toString('utf8')).slice(1).map((row) => ({ ...row, line: row.line + chunk.lineOffset })));
    expect(chunks.every((chunk) => chunk.body.toString('utf8').startsWith('\r\n,,\r\nmd5,campaign,sources\r\n'))).toBe(true);
    expect(seen).toEqual(rows);
  });

  it('ends CSV rows at LF, CRLF and a lone CR, not at those inside quotes, and keeps a last row with no line end, as the service does', () => {
    const ends = ['\n', '\r\n', '\r'];
    const rows = Array.from({ length: 120 }, (_, i) => {
      const name = i % 4 === 0 ? `"line\rbreak\r\n${i}.exe"` : i % 6 === 0 ? `a 3.5" disk-${i}.img` : `plain-${i}.exe`;
      return `${i % 13 === 0 ? 'zz' : sha256(String(i))},${name},c,s`;
    });
    const text = `sha256,file_name,campaign,sources\n${rows.map((row, i) => `${row}${i === rows.length - 1 ? '' : ends[i % 3]}`).join('')}`;
    const chunks = splitFeed(Buffer.from(text), 'csv', 1024);

    expect(chunks.length).toBeGreaterThan(5);
    const seen = chunks.flatMap((chunk) => parseCsv(chunk.body.toString('utf8')).slice(1).map((row) => ({ ...row, line: row.line + chunk.lineOffset })));
    expect(seen).toEqual(parseCsv(text).slice(1));
    expect(seen).toHaveLength(120);
  });

  it('drops chunks of nothing but blank lines, which the service would refuse as empty', () => {
    const text = `${sha256('a')}\n${'\n'.repeat(5000)}${sha256('b')}\n`;

    const chunks = splitFeed(Buffer.from(text), 'plain', 1024);

    expect(texts(chunks).map((chunk) => chunk.trim())).toEqual([sha256('a'), sha256('b')]);
    expect(chunks[1]!.lineOffset).toBe(5001);
  });

  it('refuses a line too long for one request, naming it', () => {
    const text = `${sha256('a')}\n${'x'.repeat(3000)}\n`;

    expect(() => splitFeed(Buffer.from(text), 'plain', 1024)).toThrow(InputError);
    expect(() => splitFeed(Buffer.from(text), 'plain', 1024)).toThrow('line 2 is 2.9 KiB, more than the 1.0 KiB one request may carry');
  });
});
