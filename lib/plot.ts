/**
 * A picture of training: loss and metric curves from a History, training and validation side by side in
 * one panel per metric family (loss/val_loss, accuracy/val_accuracy, ...), drawn as SVG and, for `.png`
 * files, rendered by sharp.
 *
 *   const history = await model.fit(x, y, {epochs: 20, validationSplit: 0.2});
 *   await plotHistory(history, 'training.png');
 */
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import sharp from 'sharp';
import { invalidArgument, ValueError } from './errors';
import { checkKnownOptions, checkPlainObject, checkPositiveInteger } from './validation';

export interface PlotHistoryOptions {
  /** The title above the panels. Default 'Training history'. */
  title?: string;
  /**
   * The metric families to draw, in order (each with its `val_` twin), e.g. ['loss', 'accuracy'].
   * Default: every family logged, loss first, learning rates left out.
   */
  metrics?: string[];
  /** The width of one panel in pixels. Default 480. */
  panelWidth?: number;
  /** The height of the whole picture in pixels. Default 400. */
  height?: number;
}

/** What plotHistory reads: a History, or anything with its `history` (and optionally `epoch`). */
export interface HistoryLike {
  history: Record<string, number[]>;
  /** The 0-based epochs recorded; default 0, 1, 2, ... */
  epoch?: number[];
}

const LEARNING_RATE_KEYS = ['lr', 'learning_rate'];
const TRAINING_COLOR = '#1f77b4';
const VALIDATION_COLOR = '#ff7f0e';
const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";
const TITLE_HEIGHT = 36;
const MARGIN = { left: 64, right: 20, top: 44, bottom: 48 };

interface Series {
  name: string;
  values: number[];
  color: string;
  dashed: boolean;
}

interface Panel {
  family: string;
  series: Series[];
}

/** Escapes text for SVG (element content and attribute values). */
export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** Round tick positions covering [min, max]: steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(min: number, max: number, count = 5): { ticks: number[]; step: number } {
  if (!(max > min)) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    return niceTicks(min - pad, max + pad, count);
  }
  const rough = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const first = Math.floor(min / step + 1e-9) * step;
  const last = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v <= last + step * 1e-6; v += step) ticks.push(Number(v.toPrecision(12)));
  return { ticks, step };
}

function formatTick(value: number, step: number): string {
  if (value === 0) return '0';
  if (step < 1e-3 || Math.abs(value) >= 1e6) return value.toExponential(1).replace('e+', 'e');
  return value.toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
}

function familyOf(key: string): string {
  const base = key.startsWith('val_') ? key.slice(4) : key;
  return LEARNING_RATE_KEYS.includes(base) ? 'learning_rate' : base;
}

function checkHistory(history: unknown): HistoryLike {
  const record = (history as HistoryLike | undefined)?.history;
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw invalidArgument('plotHistory', 'a History (an object with history: {loss: number[], ...})', history);
  }
  for (const [key, values] of Object.entries(record)) {
    if (!Array.isArray(values) || values.some((v) => typeof v !== 'number')) {
      throw invalidArgument('plotHistory', `history.${key} to be an array of numbers`, values);
    }
  }
  return history as HistoryLike;
}

function panelsOf(history: HistoryLike, metrics?: string[]): Panel[] {
  const keys = Object.keys(history.history).filter((key) => history.history[key].length > 0);
  const logged = [...new Set(keys.map(familyOf))];
  let families: string[];
  if (metrics) {
    families = metrics.map((metric) => familyOf(metric));
    const missing = families.filter((family) => !logged.includes(family));
    if (missing.length > 0) {
      throw invalidArgument('plotHistory', `metrics among those logged (${logged.join(', ')})`, missing);
    }
  } else {
    const rest = logged.filter((f) => f !== 'loss' && f !== 'learning_rate').sort((a, b) => (a === 'accuracy' ? -1 : b === 'accuracy' ? 1 : a.localeCompare(b)));
    families = [...(logged.includes('loss') ? ['loss'] : []), ...rest];
  }
  if (families.length === 0) throw new ValueError('plotHistory: the history has no values to plot; fit the model first');
  return families.map((family) => {
    const names =
      family === 'learning_rate'
        ? ['learning_rate', 'lr'].filter((key) => keys.includes(key)).slice(0, 1)
        : [family, `val_${family}`].filter((key) => keys.includes(key));
    return {
      family,
      series: names.map((name) => ({
        name,
        values: history.history[name],
        color: name.startsWith('val_') ? VALIDATION_COLOR : TRAINING_COLOR,
        dashed: name.startsWith('val_'),
      })),
    };
  });
}

function drawPanel(panel: Panel, epochs: number[], left: number, top: number, width: number, height: number): string {
  const plotLeft = left + MARGIN.left;
  const plotTop = top + MARGIN.top;
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  const finite = panel.series.flatMap((s) => s.values.filter(Number.isFinite));
  const { ticks: yTicks, step: yStep } = niceTicks(Math.min(...finite, Infinity), Math.max(...finite, -Infinity));
  const yMin = yTicks[0];
  const yMax = yTicks[yTicks.length - 1];
  const xFirst = Math.min(...epochs);
  const xLast = Math.max(...epochs);
  const xMin = xFirst === xLast ? xFirst - 1 : xFirst;
  const xMax = xFirst === xLast ? xLast + 1 : xLast;
  const xStep = niceTicks(xMin, xMax, Math.min(8, xMax - xMin)).step;
  const xTickStep = Math.max(1, Math.round(xStep));
  const x = (epoch: number): number => plotLeft + ((epoch - xMin) / (xMax - xMin)) * plotWidth;
  const y = (value: number): number => plotTop + plotHeight - ((value - yMin) / (yMax - yMin)) * plotHeight;
  const out: string[] = [];
  const title = panel.family === 'learning_rate' ? 'learning rate' : panel.family;
  out.push(`<g class="panel" data-metric="${escapeXml(panel.family)}">`);
  out.push(`<text x="${plotLeft + plotWidth / 2}" y="${top + 22}" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`);
  // Grid and y ticks.
  for (const tick of yTicks) {
    const ty = y(tick).toFixed(1);
    out.push(`<line x1="${plotLeft}" y1="${ty}" x2="${plotLeft + plotWidth}" y2="${ty}" stroke="#e5e5e5" stroke-width="1"/>`);
    out.push(`<text x="${plotLeft - 6}" y="${ty}" text-anchor="end" dominant-baseline="middle" font-size="11">${formatTick(tick, yStep)}</text>`);
  }
  for (let epoch = Math.ceil(xMin / xTickStep) * xTickStep; epoch <= xMax; epoch += xTickStep) {
    if (epoch < xMin) continue;
    const tx = x(epoch).toFixed(1);
    out.push(`<line x1="${tx}" y1="${plotTop + plotHeight}" x2="${tx}" y2="${plotTop + plotHeight + 5}" stroke="#333" stroke-width="1"/>`);
    out.push(`<text x="${tx}" y="${plotTop + plotHeight + 18}" text-anchor="middle" font-size="11">${epoch}</text>`);
  }
  // Axes.
  out.push(`<line class="axis" x1="${plotLeft}" y1="${plotTop}" x2="${plotLeft}" y2="${plotTop + plotHeight}" stroke="#333" stroke-width="1"/>`);
  out.push(`<line class="axis" x1="${plotLeft}" y1="${plotTop + plotHeight}" x2="${plotLeft + plotWidth}" y2="${plotTop + plotHeight}" stroke="#333" stroke-width="1"/>`);
  out.push(`<text x="${plotLeft + plotWidth / 2}" y="${top + height - 10}" text-anchor="middle" font-size="12">Epoch</text>`);
  out.push(
    `<text x="${left + 16}" y="${plotTop + plotHeight / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 ${left + 16} ${plotTop + plotHeight / 2})">${escapeXml(title)}</text>`,
  );
  // Curves: a break wherever a value is not finite (a diverged epoch).
  for (const series of panel.series) {
    let d = '';
    let pen = false;
    const points: string[] = [];
    series.values.forEach((value, i) => {
      if (!Number.isFinite(value) || i >= epochs.length) {
        pen = false;
        return;
      }
      const px = x(epochs[i]).toFixed(1);
      const py = y(value).toFixed(1);
      d += `${pen ? 'L' : 'M'}${px},${py} `;
      pen = true;
      points.push(`<circle cx="${px}" cy="${py}" r="2.5" fill="${series.color}"/>`);
    });
    out.push(
      `<path class="series" data-name="${escapeXml(series.name)}" d="${d.trim()}" fill="none" stroke="${series.color}" stroke-width="2"` +
        `${series.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    out.push(...points);
  }
  // Legend, top right inside the plot.
  const legendWidth = 16 + 28 + 7 * Math.max(...panel.series.map((s) => s.name.length));
  const legendLeft = plotLeft + plotWidth - legendWidth - 8;
  // Top right, unless the curves end high (accuracy rising), then bottom right, clear of them.
  const tail = panel.series.flatMap((s) => s.values.slice(Math.floor(s.values.length * 0.6)).filter(Number.isFinite));
  const endsHigh = tail.filter((v) => v > (yMin + yMax) / 2).length > tail.length / 2;
  const legendHeight = 8 + 18 * panel.series.length;
  const legendTop = endsHigh ? plotTop + plotHeight - legendHeight - 8 : plotTop + 8;
  out.push(
    `<rect class="legend" x="${legendLeft}" y="${legendTop}" width="${legendWidth}" height="${legendHeight}" fill="white" fill-opacity="0.85" stroke="#ccc"/>`,
  );
  panel.series.forEach((series, i) => {
    const ly = legendTop + 13 + 18 * i;
    out.push(
      `<line x1="${legendLeft + 8}" y1="${ly}" x2="${legendLeft + 32}" y2="${ly}" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    out.push(`<text x="${legendLeft + 38}" y="${ly}" dominant-baseline="middle" font-size="11">${escapeXml(series.name)}</text>`);
  });
  out.push('</g>');
  return out.join('\n');
}

/** The SVG text of the training curves. */
export function historyToSvg(history: HistoryLike, options: PlotHistoryOptions = {}): string {
  checkHistory(history);
  checkPlainObject('plotHistory', 'options', options);
  checkKnownOptions('plotHistory', options, ['title', 'metrics', 'panelWidth', 'height']);
  if (options.title !== undefined && typeof options.title !== 'string') throw invalidArgument('plotHistory', 'title to be a string', options.title);
  if (options.metrics !== undefined && (!Array.isArray(options.metrics) || options.metrics.length === 0 || options.metrics.some((m) => typeof m !== 'string'))) {
    throw invalidArgument('plotHistory', 'metrics to be a non-empty array of names', options.metrics);
  }
  const panelWidth = checkPositiveInteger('plotHistory', 'panelWidth', options.panelWidth ?? 480);
  const height = checkPositiveInteger('plotHistory', 'height', options.height ?? 400);
  if (panelWidth < 200 || height < 200) throw invalidArgument('plotHistory', 'panelWidth and height of at least 200', `${panelWidth}x${height}`);
  const panels = panelsOf(history, options.metrics);
  const length = Math.max(...panels.flatMap((p) => p.series.map((s) => s.values.length)));
  const epochs =
    history.epoch && history.epoch.length === length ? history.epoch.map((e) => e + 1) : Array.from({ length }, (_, i) => i + 1);
  const width = panelWidth * panels.length;
  const title = options.title ?? 'Training history';
  const body = panels.map((panel, i) => drawPanel(panel, epochs, i * panelWidth, TITLE_HEIGHT, panelWidth, height - TITLE_HEIGHT));
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" fill="#222">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="17" font-weight="bold">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/**
 * Draws the curves of `history` to `file`: SVG for `.svg`, PNG for `.png`, both (`file.svg`, `file.png`)
 * for a name without either extension. Resolves the paths written.
 */
export async function plotHistory(history: HistoryLike, file: string, options: PlotHistoryOptions = {}): Promise<string[]> {
  if (typeof file !== 'string' || file.length === 0) throw invalidArgument('plotHistory', 'file to be a path', file);
  const svg = historyToSvg(history, options);
  const extension = path.extname(file).toLowerCase();
  if (extension !== '' && extension !== '.svg' && extension !== '.png') {
    throw invalidArgument('plotHistory', 'file to end in .svg or .png (or have no extension, for both)', file);
  }
  const targets = extension === '' ? [`${file}.svg`, `${file}.png`] : [file];
  for (const target of targets) await writeSvgOrPng(svg, target);
  return targets;
}

/**
 * Writes `svg` to `file`, creating its folder: the text for a `.svg` file, a PNG rendered by sharp for
 * any other. `dpi` sets the PNG's resolution (96, the default, is one pixel per SVG pixel) and is recorded in it.
 */
export async function writeSvgOrPng(svg: string, file: string, options: { dpi?: number } = {}): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  if (file.toLowerCase().endsWith('.svg')) {
    await writeFile(file, svg);
    return;
  }
  const { dpi } = options;
  const image = sharp(Buffer.from(svg), dpi === undefined ? {} : { density: (72 * dpi) / 96 });
  await (dpi === undefined ? image : image.withMetadata({ density: dpi })).png().toFile(file);
}
