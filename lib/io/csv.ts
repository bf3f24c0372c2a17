/**
 * CSV as RFC 4180 writes it (and pandas' `to_csv`, Kaggle's label files): comma-separated fields, fields in
 * double quotes may hold commas, newlines and doubled quotes (""), lines end in LF or CRLF. The first row
 * names the columns; each further row becomes a record of strings keyed by those names.
 */
import { readFileSync } from 'node:fs';
import { ValueError } from '../errors';

/** The rows of `text`, each a list of fields. */
export function parseCsvRows(text: string, source = 'CSV'): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let fieldStarted = false;
  let line = 1;
  // A byte order mark (Excel writes one) is not part of the first column's name.
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRow = () => {
    row.push(field);
    // Blank lines (a trailing newline) are not rows.
    if (!(row.length === 1 && row[0] === '' && !fieldStarted)) rows.push(row);
    row = [];
    field = '';
    fieldStarted = false;
  };
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"') {
      if (field.length > 0) throw new ValueError(`${source}: line ${line}: a quote inside an unquoted field (quote the whole field and double the quote)`);
      quoted = true;
      fieldStarted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
      fieldStarted = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
    } else {
      field += c;
      fieldStarted = true;
    }
  }
  if (quoted) throw new ValueError(`${source}: a quoted field opened before line ${line} is never closed`);
  if (field.length > 0 || row.length > 0 || fieldStarted) endRow();
  return rows;
}

/** The records of a CSV text with a header row. */
export function parseCsv(text: string, source = 'CSV'): Record<string, string>[] {
  const [header, ...rows] = parseCsvRows(text, source);
  if (!header) return [];
  return rows.map((fields, r) => {
    if (fields.length !== header.length) {
      throw new ValueError(`${source}: record ${r + 1} has ${fields.length} fields but the header names ${header.length} (${header.join(', ')})`);
    }
    return Object.fromEntries(header.map((name, k) => [name, fields[k]]));
  });
}

export function readCsvFile(file: string): Record<string, string>[] {
  return parseCsv(readFileSync(file, 'utf8'), file);
}
