/** Keras 3's model summary table. */

export interface SummaryRow {
  name: string;
  className: string;
  /** One shape per output of the layer, 'multiple' for a layer applied at several nodes, '?' where unknown. */
  outputShapes: number[][] | 'multiple' | '?';
  params: number;
  /** For a functional model: the tensors the layer reads, as `conv2d[0][0]`. */
  connectedTo?: string[];
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

/** Keras's table; with `connectedTo` on the rows, the functional table with its "Connected to" column. */
export function formatSummary(modelName: string, rows: SummaryRow[], totals: SummaryTotals, lineLength = 80): string {
  const functional = rows.some((row) => row.connectedTo !== undefined);
  // Keras's column positions; each cell is padded by one space and the borders take one character each.
  const widths = functional
    ? [Math.round(lineLength * 0.3) - 3, Math.round(lineLength * 0.3) - 3, Math.round(lineLength * 0.1) - 1]
    : [Math.round(lineLength * 0.45) - 4, Math.round(lineLength * 0.3) - 3];
  widths.push(lineLength - widths.reduce((a, b) => a + b, 0) - (functional ? 13 : 10));
  const align: ('left' | 'right')[] = functional ? ['left', 'left', 'right', 'left'] : ['left', 'left', 'right'];
  const cells = (values: string[], align: ('left' | 'right')[]) =>
    values.map((value, i) => (align[i] === 'right' ? value.padStart(widths[i]) : value.padEnd(widths[i])));
  const border = (left: string, fill: string, middle: string, right: string) =>
    left + widths.map((w) => fill.repeat(w + 2)).join(middle) + right;
  const lines = [`Model: "${modelName}"`];
  lines.push(border('┏', '━', '┳', '┓'));
  const headings = ['Layer (type)', 'Output Shape', 'Param #', ...(functional ? ['Connected to'] : [])];
  lines.push(`┃ ${cells(headings, functional ? ['left', 'left', 'right', 'left'] : ['left', 'left', 'right']).join(' ┃ ')} ┃`);
  lines.push(border('┡', '━', '╇', '┩'));
  rows.forEach((row, i) => {
    const shapes = typeof row.outputShapes === 'string' ? [row.outputShapes] : row.outputShapes.map((shape) => `(None, ${shape.join(', ')})`);
    const columns = [wrap(`${row.name} (${row.className})`, widths[0]), shapes.flatMap((s) => wrap(s, widths[1])), [withThousands(row.params)]];
    if (functional) columns.push((row.connectedTo!.length > 0 ? row.connectedTo! : ['-']).flatMap((c) => wrap(c, widths[3])));
    // A cell longer than its column, or with several entries (outputs, inbound tensors), takes several lines.
    const height = Math.max(...columns.map((column) => column.length));
    for (let line = 0; line < height; line++) {
      lines.push(`│ ${cells(columns.map((column) => column[line] ?? ''), align).join(' │ ')} │`);
    }
    if (i < rows.length - 1) lines.push(border('├', '─', '┼', '┤'));
  });
  lines.push(border('└', '─', '┴', '┘'));
  const nonTrainable = totals.total - totals.trainable;
  lines.push(` Total params: ${withThousands(totals.total)} (${formatBytes(totals.total * 4)})`);
  lines.push(` Trainable params: ${withThousands(totals.trainable)} (${formatBytes(totals.trainable * 4)})`);
  lines.push(` Non-trainable params: ${withThousands(nonTrainable)} (${formatBytes(nonTrainable * 4)})`);
  return lines.join('\n');
}

/** Splits text into lines of at most `width` characters, at spaces where it can, as Keras wraps its cells. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest.length > width) {
    const space = rest.lastIndexOf(' ', width);
    const cut = space > 0 ? space : width;
    lines.push(rest.slice(0, cut));
    rest = rest.slice(cut).trimStart();
  }
  lines.push(rest);
  return lines;
}
