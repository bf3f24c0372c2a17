import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { Dense, Sequential, setSeed, tensor } from '../lib';
import { historyToSvg, niceTicks, plotHistory } from '../lib/plot';
import { seededRandom } from './helpers';

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(path.join(tmpdir(), 'keras-torch-plot-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

/** A binary classifier trained for a few epochs with validation, for a real History. */
async function trainedHistory() {
  setSeed(3);
  const random = seededRandom(5);
  const samples = 96;
  const x = new Float32Array(samples * 8);
  const y = new Float32Array(samples);
  for (let i = 0; i < samples; i++) {
    let sum = 0;
    for (let j = 0; j < 8; j++) sum += x[i * 8 + j] = random() * 2 - 1;
    y[i] = sum > 0 ? 1 : 0;
  }
  const model = new Sequential([new Dense(8, { inputShape: [8], activation: 'relu' }), new Dense(1, { activation: 'sigmoid' })]);
  model.compile({ optimizer: 'adam', loss: 'binary_crossentropy', metrics: ['accuracy'] });
  return model.fit(tensor(x, [samples, 8]), tensor(y, [samples, 1]), { epochs: 6, batchSize: 16, verbose: 0, validationSplit: 0.25 });
}

/** The points of each drawn series, by name, as [x, y] pairs, and the number of separate strokes. */
function seriesOf(svg: string): Map<string, { points: number[][]; strokes: number }> {
  const result = new Map<string, { points: number[][]; strokes: number }>();
  for (const match of svg.matchAll(/<path class="series" data-name="([^"]+)" d="([^"]*)"/g)) {
    const commands = [...match[2].matchAll(/([ML])([\d.]+),([\d.]+)/g)];
    result.set(match[1], {
      points: commands.map((c) => [Number(c[2]), Number(c[3])]),
      strokes: commands.filter((c) => c[1] === 'M').length,
    });
  }
  return result;
}

describe('plotHistory', () => {
  test('draws one panel per metric family, training and validation, as a well-formed SVG', async () => {
    const history = await trainedHistory();
    expect(Object.keys(history.history).sort()).toEqual(['accuracy', 'loss', 'val_accuracy', 'val_loss']);
    const file = path.join(directory, 'out', 'history.svg');
    expect(await plotHistory(history, file, { title: 'Cats & dogs' })).toEqual([file]);
    const svg = readFileSync(file, 'utf8');
    expect(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="960" height="400"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    // Every element opened is closed (the tags are simple enough to count).
    const opened = [...svg.matchAll(/<(g|svg|text|title)[\s>]/g)].length;
    const closed = [...svg.matchAll(/<\/(g|svg|text|title)>/g)].length;
    expect(opened).toBe(closed);
    expect(svg).toContain('<title>Cats &amp; dogs</title>');
    expect([...svg.matchAll(/<g class="panel" data-metric="([^"]+)">/g)].map((m) => m[1])).toEqual(['loss', 'accuracy']);
    const series = seriesOf(svg);
    expect([...series.keys()]).toEqual(['loss', 'val_loss', 'accuracy', 'val_accuracy']);
    for (const [name, { points, strokes }] of series) {
      expect(points).toHaveLength(6);
      expect(strokes).toBe(1);
      // Epochs run left to right, and a lower value is drawn lower (larger y).
      points.forEach((point, i) => i > 0 && expect(point[0]).toBeGreaterThan(points[i - 1][0]));
      const values = history.history[name];
      const low = values.indexOf(Math.min(...values));
      const high = values.indexOf(Math.max(...values));
      if (low !== high) expect(points[low][1]).toBeGreaterThan(points[high][1]);
    }
    // The legend names each series; the x axis is labelled with the epochs 1..6.
    for (const name of ['loss', 'val_loss', 'accuracy', 'val_accuracy']) expect(svg).toContain(`>${name}</text>`);
    expect(svg).toContain('>Epoch</text>');
  });

  test('writes a PNG of the same size for .png, and both files for a name without an extension', async () => {
    const history = await trainedHistory();
    const png = path.join(directory, 'history.png');
    expect(await plotHistory(history, png, { panelWidth: 400, height: 300 })).toEqual([png]);
    const metadata = await sharp(png).metadata();
    expect([metadata.format, metadata.width, metadata.height]).toEqual(['png', 800, 300]);
    // Not blank: the curves and text put dark pixels on the white background.
    const stats = await sharp(png).stats();
    expect(stats.channels[0].min).toBeLessThan(100);
    expect(stats.channels[0].max).toBe(255);

    const both = await plotHistory(history, path.join(directory, 'both'));
    expect(both).toEqual([path.join(directory, 'both.svg'), path.join(directory, 'both.png')]);
    expect(both.every((file) => existsSync(file))).toBe(true);
  });

  test('chooses families with metrics; breaks a curve where a value is not finite', () => {
    const history = { history: { loss: [1, NaN, 0.5, 0.4], val_loss: [1.1, 0.9, 0.8, 0.7], learning_rate: [0.1, 0.1, 0.01, 0.01], lr: [0.1, 0.1, 0.01, 0.01] } };
    const svg = historyToSvg(history);
    expect([...svg.matchAll(/data-metric="([^"]+)"/g)].map((m) => m[1])).toEqual(['loss']);
    const loss = seriesOf(svg).get('loss')!;
    expect(loss.points).toHaveLength(3);
    expect(loss.strokes).toBe(2);
    const withRate = historyToSvg(history, { metrics: ['loss', 'lr'] });
    expect([...withRate.matchAll(/data-metric="([^"]+)"/g)].map((m) => m[1])).toEqual(['loss', 'learning_rate']);
    expect([...seriesOf(withRate).keys()]).toEqual(['loss', 'val_loss', 'learning_rate']);
    // Epochs from History.epoch (resumed training starts later).
    const resumed = historyToSvg({ history: { loss: [0.5, 0.4] }, epoch: [10, 11] });
    expect(resumed).toContain('>11</text>');
    expect(resumed).toContain('>12</text>');
  });

  test('nice ticks cover the range in steps of 1, 2 or 5 times a power of ten', () => {
    expect(niceTicks(0.13, 0.92)).toEqual({ ticks: [0, 0.2, 0.4, 0.6, 0.8, 1], step: 0.2 });
    expect(niceTicks(3, 47)).toEqual({ ticks: [0, 10, 20, 30, 40, 50], step: 10 });
    expect(niceTicks(0.5, 0.5).ticks.length).toBeGreaterThan(1);
  });

  test('bad arguments are rejected with what was expected', async () => {
    const history = { history: { loss: [1, 0.5] } };
    await expect(plotHistory(history, path.join(directory, 'plot.jpg'))).rejects.toThrow(
      'plotHistory: expected file to end in .svg or .png (or have no extension, for both) but received',
    );
    await expect(plotHistory({} as never, path.join(directory, 'p.svg'))).rejects.toThrow(
      'plotHistory: expected a History (an object with history: {loss: number[], ...}) but received {}',
    );
    expect(() => historyToSvg(history, { metrics: ['accuracy'] })).toThrow('plotHistory: expected metrics among those logged (loss) but received ["accuracy"]');
    expect(() => historyToSvg(history, { height: 50 })).toThrow('plotHistory: expected panelWidth and height of at least 200 but received "480x50"');
    expect(() => historyToSvg(history, { panelWidth: -1 })).toThrow('plotHistory: expected panelWidth to be a positive integer but received -1');
    expect(() => historyToSvg(history, { colour: 'red' } as never)).toThrow('plotHistory: expected options among');
    expect(() => historyToSvg({ history: { loss: ['a'] } } as never)).toThrow('plotHistory: expected history.loss to be an array of numbers but received ["a"]');
    expect(() => historyToSvg({ history: {} })).toThrow('plotHistory: the history has no values to plot; fit the model first');
  });
});
