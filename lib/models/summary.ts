/** Keras 3's model summary table. */

export interface SummaryRow {
  name: string;
  className: string;
  outputShape: number[];
  params: number;
}

export interface SummaryTotals {
  total: number;
  trainable: number;
}

/** 3,937,409 */
export function withThousands(value: number): string {
  return value.toLocaleString('en-US');
}

/** Bytes as Keras prints them: "15.02 MB", "0.00 B" (float32 weights). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(2)} ${units[unit]}`;
}

export function formatSummary(modelName: string, rows: SummaryRow[], totals: SummaryTotals, lineLength = 80): string {
  const widths = [Math.round(lineLength * 0.45) - 4, Math.round(lineLength * 0.3) - 3, 0];
  widths[2] = lineLength - widths[0] - widths[1] - 10;
  const cells = (values: string[], align: ('left' | 'right')[]) =>
    values.map((value, i) => (align[i] === 'right' ? value.padStart(widths[i]) : value.padEnd(widths[i])));
  const border = (left: string, fill: string, middle: string, right: string) =>
    left + widths.map((w) => fill.repeat(w + 2)).join(middle) + right;
  const lines = [`Model: "${modelName}"`];
  lines.push(border('┏', '━', '┳', '┓'));
  lines.push(`┃ ${cells(['Layer (type)', 'Output Shape', 'Param #'], ['left', 'left', 'right']).join(' ┃ ')} ┃`);
  lines.push(border('┡', '━', '╇', '┩'));
  rows.forEach((row, i) => {
    const shape = `(None, ${row.outputShape.join(', ')})`;
    lines.push(`│ ${cells([`${row.name} (${row.className})`, shape, withThousands(row.params)], ['left', 'left', 'right']).join(' │ ')} │`);
    if (i < rows.length - 1) lines.push(border('├', '─', '┼', '┤'));
  });
  lines.push(border('└', '─', '┴', '┘'));
  const nonTrainable = totals.total - totals.trainable;
  lines.push(` Total params: ${withThousands(totals.total)} (${formatBytes(totals.total * 4)})`);
  lines.push(` Trainable params: ${withThousands(totals.trainable)} (${formatBytes(totals.trainable * 4)})`);
  lines.push(` Non-trainable params: ${withThousands(nonTrainable)} (${formatBytes(nonTrainable * 4)})`);
  return lines.join('\n');
}
