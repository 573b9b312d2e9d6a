import { describe, expect, it } from 'vitest';
import { csvRecords } from '../../src/csv.ts';

const one = (cell: string | number | null) => csvRecords([[cell]]).slice(0, -2);

describe('csvRecords, the one CSV writer', () => {
  it.each(['=1+1', '+SUM(A1)', '-2+3', '@SUM(A1)', '\tcmd', '=HYPERLINK("http://x")', '＝1+1'])('keeps %j text, never a formula', (cell) => {
    expect(one(cell).replace(/^"/, '')).toMatch(/^'/);
  });

  it('neutralises a leading CR and quotes the cell, since it holds a line break', () => {
    expect(one('\r=1')).toBe(`"'\r=1"`);
  });

  it('quotes cells with a separator, a quote, CR, LF or CRLF, doubling quotes', () => {
    expect(csvRecords([['a,b', 'say "hi"', 'x\ry', 'x\ny', 'x\r\ny', 'plain']])).toBe('"a,b","say ""hi""","x\ry","x\ny","x\r\ny",plain\r\n');
  });

  it('ends every record with CRLF and writes empty cells for null and undefined', () => {
    expect(
      csvRecords([
        ['a', null, undefined, ''],
        ['b', 1, 2, 3],
      ]),
    ).toBe('a,,,\r\nb,1,2,3\r\n');
  });

  it('leaves numbers, negative ones included, and ordinary text alone', () => {
    expect(csvRecords([[-5, 0.25, 'ok', 'a-b', 'mail@example.com']])).toBe('-5,0.25,ok,a-b,mail@example.com\r\n');
  });
});
