import { describe, expect, it } from 'vitest';
import { rejection } from '../test-support.js';
import { cleanColumnNames, holdsRecords, parseCsv, sniffCsvDialect } from './csv-dialect.js';

describe('parseCsv', () => {
  it('handles quotes, doubled quotes, delimiters and newlines in quotes, CRLF', () => {
    const { records, openQuoteLine } = parseCsv('a,b\r\n"x, y","say ""hi"""\r\n"multi\nline",2\n', ',');
    expect(openQuoteLine).toBeNull();
    expect(records.map((r) => r.fields)).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['multi\nline', '2'],
    ]);
    expect(records.map((r) => r.line)).toEqual([1, 2, 3]);
  });

  it('keeps fields of megabytes whole, quoted or not, and counts the lines inside quotes', () => {
    const quoted = `${'q'.repeat(3_000_000)},\n"\n${'r'.repeat(10)}`;
    const plain = 'p'.repeat(3_000_000);
    const { records, terminated } = parseCsv(`a,b\n"${quoted.replaceAll('"', '""')}",${plain}\nx,y\n`, ',');
    expect(records.map((r) => r.fields.map((f) => f.length))).toEqual([
      [1, 1],
      [quoted.length, plain.length],
      [1, 1],
    ]);
    expect(records[1]!.fields[0]).toBe(quoted);
    expect(records.map((r) => r.line)).toEqual([1, 2, 5]);
    expect(terminated).toBe(3);
  });

  it('counts only records ended by a line break as terminated', () => {
    expect(parseCsv('a,b\n1,2', ',').terminated).toBe(1);
    expect(parseCsv('a,b\n1,"open', ',')).toMatchObject({ terminated: 1, openQuoteLine: 2 });
  });

  it('skips blank lines and reports an open quote with its line', () => {
    const { records, openQuoteLine } = parseCsv('a\n\n1\n"open\n', ',');
    expect(records.map((r) => r.fields)).toEqual([['a'], ['1']]);
    expect(openQuoteLine).toBe(4);
  });
});

describe('sniffCsvDialect', () => {
  it.each([
    [',', 'a,b,c\n1,2,3\n4,5,6\n'],
    [';', 'a;b;c\n1,5;2;3\n4;5;6\n'],
    ['\t', 'a\tb\tc\n1\t2\t3\n'],
    ['|', 'a|b|c\n1|2|3\n'],
  ])('finds the %j delimiter', (delimiter, text) => {
    const d = sniffCsvDialect(text, true);
    expect(d.delimiter).toBe(delimiter);
    expect(d.columns).toEqual(['a', 'b', 'c']);
    expect(d.header).toBe(true);
  });

  it('prefers the delimiter that gives a consistent width over one that only appears inside quotes', () => {
    const d = sniffCsvDialect('name;note\n"Doe, J";"a, b, c"\n"Roe, R";x\n', true);
    expect(d.delimiter).toBe(';');
    expect(d.columns).toEqual(['name', 'note']);
  });

  it('a single column file', () => {
    const d = sniffCsvDialect('value\n1\n2\n', true);
    expect(d.columns).toEqual(['value']);
    expect(d.header).toBe(true);
  });

  it('detects a missing header when the first row looks like the data', () => {
    expect(sniffCsvDialect('1,2.5,2024-01-01\n3,4.5,2024-01-02\n', true)).toMatchObject({
      header: false,
      columns: ['column_1', 'column_2', 'column_3'],
    });
    expect(sniffCsvDialect('ts,value\n2024-01-01,1\n', true).header).toBe(true);
    // All text: the first row is taken as the header.
    expect(sniffCsvDialect('name,city\nann,paris\n', true).header).toBe(true);
    // Quoted numbers are text, so a quoted numeric first row is a header over numeric data.
    expect(sniffCsvDialect('"2019","2020"\n1,2\n', true).header).toBe(true);
  });

  it('ignores a cut-off last record in a partial sample', () => {
    const d = sniffCsvDialect('a,b\n1,2\n3,', false);
    expect(d.columns).toEqual(['a', 'b']);
  });

  it('rejects header-only, ragged rows (with line and row) and unterminated quotes', () => {
    expect(rejection(() => sniffCsvDialect('a,b,c\n', true)).code).toBe('header_only');
    const ragged = rejection(() => sniffCsvDialect('a,b\n1,2\n"x\ny",2\n3\n', true));
    expect(ragged.code).toBe('ragged_rows');
    expect(ragged.errors[0]).toMatchObject({ line: 5, row: 3 });
    const open = rejection(() => sniffCsvDialect('a,b\n1,"2\n', true));
    expect(open.code).toBe('invalid_file');
    expect(open.errors[0]!.line).toBe(2);
  });
});

describe('holdsRecords', () => {
  it('says whether a sample holds whole records, a quoted line break not ending one', () => {
    expect(holdsRecords('a,b\n1,2\n', 2)).toBe(true);
    expect(holdsRecords('a,b\n1,2', 2)).toBe(false);
    expect(holdsRecords('a,b\n1,"x\ny', 2)).toBe(false);
    expect(holdsRecords('a;b\n1;"x\ny"\n', 2)).toBe(true);
    expect(holdsRecords('aaaa', 1)).toBe(false);
    // Read with ';' the quoted line break would end a second record; the sniffer reads this file with ','.
    expect(holdsRecords('id,text\n1,"a;b\nc', 2)).toBe(false);
  });
});

describe('sniffCsvDialect column cap', () => {
  it('refuses more fields than maxColumns before looking at the header', () => {
    const e = rejection(() => sniffCsvDialect('a,b,c,d\n1,2,3,4\n', true, 3));
    expect(e.code).toBe('too_many_columns');
    expect(e.message).toContain('4 columns; a dataset may have at most 3');
    expect(sniffCsvDialect('a,b,c\n1,2,3\n', true, 3).columns).toEqual(['a', 'b', 'c']);
  });
});

describe('cleanColumnNames', () => {
  it('fills blanks and makes names unique case-insensitively', () => {
    expect(cleanColumnNames(['a', '', 'A', 'a', ' b ', 'a_2'])).toEqual(['a', 'column_2', 'A_2', 'a_3', 'b', 'a_2_2']);
  });
});

describe('sniffCsvDialect decimal comma', () => {
  const sniff = (text: string) => sniffCsvDialect(text, true);

  it('finds decimal commas when the fields are not comma-separated, and dot-grouped thousands per column', () => {
    const d = sniff('device;temp;energy;code\nd1;12,5;1.234,5;A.1\nd2;8;12;B\nd3;-0,25;2.000.000;C\n');
    expect(d).toMatchObject({ delimiter: ';', decimal: ',', thousandsColumns: ['energy'] });
    // A column of dot groups only is thousands too once the file writes decimals with a comma.
    expect(sniff('a\tb\n1,5\t1.234\n2\t5.000\n')).toMatchObject({
      delimiter: '\t',
      decimal: ',',
      thousandsColumns: ['b'],
    });
  });

  it('keeps the decimal point for comma-separated files, files without comma decimals, and files with both', () => {
    expect(sniff('a,b\n1,2\n3,4\n')).toMatchObject({ decimal: '.', thousandsColumns: [] });
    expect(sniff('a;b\n1.5;2\n3;4\n')).toMatchObject({ decimal: '.', thousandsColumns: [] });
    // 12.5 cannot be a thousands group: the comma column stays text rather than guessing.
    expect(sniff('a;b\n12,5;12.5\n3;4\n')).toMatchObject({ decimal: '.', thousandsColumns: [] });
    // Text that merely holds dots or commas decides nothing.
    expect(sniff('a;b\nv1.2.3;x,y\n2024.01;z\n')).toMatchObject({ decimal: '.', thousandsColumns: [] });
  });

  it('does not take a column for thousands when one sampled value is not a grouped number', () => {
    expect(sniff('a;b\n1,5;1.234\n2;n/a\n')).toMatchObject({ decimal: ',', thousandsColumns: [] });
    expect(sniff('a;b\n1,5;12.05.2024\n2;13.05.2024\n')).toMatchObject({ decimal: ',', thousandsColumns: [] });
  });

  it('reads a grouped decimal-comma number as a number when it decides about the header', () => {
    expect(sniff('1.234,5;x;1\n2,5;y;2\n')).toMatchObject({
      delimiter: ';',
      header: false,
      decimal: ',',
      thousandsColumns: ['column_1'],
    });
  });
});
