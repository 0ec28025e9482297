import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../cli/errors.js';
import { fileLine, splitCsvByDigest, splitDigestList, splitFeed, splitImport, type FeedChunk } from '../../cli/feed-chunks.js';
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

/** The digests of a plain list's chunk, in the order sent. */
const digestsOf = (chunk: FeedChunk) => chunk.body.toString('utf8').split('\n').filter(Boolean);

describe('splitDigestList', () => {
  /** A list of `count` bare digests of every algorithm, some upper case, CRLF and blank lines among them. */
  function digestList(count: number): string {
    const lines = Array.from({ length: count }, (_, i) => {
      const digest = sha256(`digest ${i}`);
      const sized = i % 5 === 0 ? digest.slice(0, 32) : i % 7 === 0 ? digest.slice(0, 40) : digest;
      return i % 3 === 0 ? sized.toUpperCase() : sized;
    });
    return lines.map((line, i) => `${line}${i % 11 === 0 ? '\r\n' : '\n'}${i % 13 === 0 ? '\n' : ''}`).join('');
  }

  it('sends a list of bare digests in the order of the digests, each request a part of the key space, every line once', () => {
    const text = digestList(3000);
    const chunks = splitDigestList(Buffer.from(text), 16 * 1024)!;

    expect(chunks.length).toBeGreaterThan(5);
    const sent = chunks.flatMap(digestsOf);
    const lower = sent.map((digest) => digest.toLowerCase());
    expect(lower).toEqual([...lower].sort());
    expect([...sent].sort()).toEqual(text.split(/\r?\n/).filter(Boolean).sort());
    for (const chunk of chunks) expect(chunk.body.length).toBeLessThanOrEqual(16 * 1024);
  });

  it('maps each line of a request back to the line of the file it came from', () => {
    const text = digestList(2000);
    const fileLines = text.split('\n');
    const chunks = splitDigestList(Buffer.from(text), 8 * 1024)!;

    for (const chunk of chunks) {
      for (const [i, digest] of digestsOf(chunk).entries()) expect(fileLines[fileLine(chunk, i + 1) - 1]!.replace('\r', '')).toBe(digest);
    }
  });

  it('reports the lines the service rejects by their line in the file, as the file\'s order would', () => {
    const text = digestList(1500);
    // A campaign too long for a record: every line is rejected, by its own line.
    const defaults = { campaign: 'c'.repeat(300), source: 's' };
    const whole = parseImport(text, { format: 'plain', defaults }).rejected;

    const chunks = splitImport(Buffer.from(text), 'plain', 8 * 1024);
    const mapped = chunks.flatMap((chunk) =>
      parseImport(chunk.body.toString('utf8'), { format: 'plain', defaults }).rejected.map((r) => ({ ...r, line: fileLine(chunk, r.line!) })),
    );

    expect(chunks.length).toBeGreaterThan(5);
    expect(whole).toHaveLength(1500);
    expect(mapped.sort((a, b) => a.line - b.line)).toEqual(whole);
  });

  it('keeps the file\'s order for a list that names a digest twice, in any case, so the repeat is reported as before', () => {
    const digests = Array.from({ length: 1000 }, (_, i) => sha256(`twice ${i}`));
    const text = `${[...digests, digests[500]!.toUpperCase()].join('\n')}\n`;

    expect(splitDigestList(Buffer.from(text), 8 * 1024)).toBeUndefined();
    expect(splitImport(Buffer.from(text), 'plain', 8 * 1024)).toEqual(splitFeed(Buffer.from(text), 'plain', 8 * 1024));
  });

  it('keeps the file\'s order for lists with anything but bare digests, and for a list that fits one request', () => {
    const digests = Array.from({ length: 1000 }, (_, i) => sha256(`other ${i}`));
    const lists = [
      `${digests.map((d, i) => `${d}  file-${i}.exe`).join('\n')}\n`,
      `# a comment\n${digests.join('\n')}\n`,
      `${digests.join('\n')}\n${'a'.repeat(63)}\n`,
      `${digests.join('\n')}\n ${digests[0]}\n`,
      `${digests.map((d) => d.slice(0, 63) + 'g').join('\n')}\n`,
    ];
    for (const text of lists) expect(splitDigestList(Buffer.from(text), 8 * 1024)).toBeUndefined();
    expect(splitDigestList(Buffer.from(`${digests.join('\n')}\n`), 1024 * 1024)).toBeUndefined();
  });

  it('orders digests that begin alike by the rest of them, as the service orders its keys', () => {
    // Every first 32 bits twice, MD5s and SHA-256s among them.
    const spread = Array.from({ length: 3000 }, (_, i) => `${sha256(`prefix ${i % 1500}`).slice(0, 8)}${sha256(`alike ${i}`).slice(8, i % 3 === 0 ? 32 : 64)}`);
    const sent = splitDigestList(Buffer.from(`${spread.join('\n')}\n`), 16 * 1024)!.flatMap(digestsOf);
    expect(sent).toEqual([...spread].sort());
  });

  it('keeps the file\'s order for digests that begin alike too often to be compared one by one', () => {
    const digests = Array.from({ length: 200 }, (_, i) => `00000000${sha256(`alike ${i}`).slice(8)}`);

    expect(splitDigestList(Buffer.from(`${digests.join('\n')}\n`), 4096)).toBeUndefined();
  });
});

describe('splitCsvByDigest', () => {
  const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
  const md5 = (text: string) => createHash('md5').update(text).digest('hex');

  /** A CSV of `count` rows: all three digests, or only some, a file name, CRLF and blank lines among them. */
  function digestCsv(count: number): string {
    const rows = Array.from({ length: count }, (_, i) => {
      const [a, b, c] = [sha256(`row ${i}`), sha1(`row ${i}`), md5(`row ${i}`)];
      const digests = i % 5 === 0 ? ['', b, c] : i % 7 === 0 ? ['', '', c.toUpperCase()] : [a, b, ` ${c} `];
      return `${digests.join(',')},file-${i}.exe`;
    });
    return `\nsha256,SHA1,md5,File Name\r\n${rows.map((row, i) => `${row}${i % 11 === 0 ? '\r\n' : '\n'}${i % 13 === 0 ? ',,,\n' : ''}`).join('')}`;
  }
  /** The digest a row is stored under: its strongest. */
  const keyOf = (row: string) => row.split(',').slice(0, 3).map((field) => field.trim().toLowerCase()).find((field) => field !== '')!;
  const rowsOf = (chunk: FeedChunk) => chunk.body.toString('utf8').split('\n').slice(2).filter(Boolean);

  it('sends the rows of a CSV in the order of the digest each is stored under, the header in front of every request', () => {
    const text = digestCsv(2000);
    const chunks = splitCsvByDigest(Buffer.from(text), 16 * 1024)!;

    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) {
      expect(chunk.body.length).toBeLessThanOrEqual(16 * 1024);
      expect(chunk.body.toString('utf8').startsWith('\nsha256,SHA1,md5,File Name\r\n')).toBe(true);
    }
    const keys = chunks.flatMap(rowsOf).map(keyOf);
    expect(keys).toEqual([...keys].sort());
    expect(keys).toHaveLength(2000);
  });

  it('reads every row as the service reads it in the file, its line mapped back to the file\'s', () => {
    const text = digestCsv(1500);
    // Rows rejected for want of a campaign: every row by its own line, with its own input.
    const whole = parseImport(text, { format: 'csv', defaults: {} }).rejected;
    const chunks = splitImport(Buffer.from(text), 'csv', 8 * 1024);
    const mapped = chunks.flatMap((chunk) =>
      parseImport(chunk.body.toString('utf8'), { format: 'csv', defaults: {} }).rejected.map((r) => ({ ...r, line: fileLine(chunk, r.line!) })),
    );

    expect(chunks.length).toBeGreaterThan(5);
    expect(whole).toHaveLength(1500);
    expect(mapped.sort((a, b) => a.line - b.line)).toEqual(whole);
    const defaults = { campaign: 'c', source: 's' };
    const records = chunks.flatMap((chunk) => parseImport(chunk.body.toString('utf8'), { format: 'csv', defaults }).records.map((r) => JSON.stringify(r)));
    expect(records.sort()).toEqual(parseImport(text, { format: 'csv', defaults }).records.map((r) => JSON.stringify(r)).sort());
  });

  it('keeps the file\'s order for a CSV that names a digest twice, in any column, or has rows it cannot read simply', () => {
    const base = digestCsv(1000).trimEnd().split(/\r?\n/);
    const twice = [...base, `,${sha1('row 3')},`];
    const variants = [
      twice,
      [...base, `${sha256('quoted')},,,"a, b.exe"`],
      [...base, ',,,a-row-with-no-digest.exe'],
      [...base, `${sha256('bad').slice(0, 63)}g,,,bad.exe`],
      [...base, `${sha256('short').slice(0, 7)},,,short.exe`],
      [base[0], base[1]!.replace('sha256', 'md5'), ...base.slice(2)],
    ];
    for (const lines of variants) expect(splitCsvByDigest(Buffer.from(`${lines.join('\n')}\n`), 8 * 1024)).toBeUndefined();
    expect(splitImport(Buffer.from(`${twice.join('\n')}\n`), 'csv', 8 * 1024)).toEqual(splitFeed(Buffer.from(`${twice.join('\n')}\n`), 'csv', 8 * 1024));
  });
});
