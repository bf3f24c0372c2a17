import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { Add, Concatenate, Conv2D, Dense, Flatten, Input, Model, Sequential } from '../../lib';
import { modelToSvg, plotModel } from '../../lib/models/plot-model';
import { seedModel } from '../helpers';

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(path.join(tmpdir(), 'keras-torch-plot-model-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

/** Input → Conv2D → Conv2D, the two convolutions added, then Flatten and Dense. */
function residualModel(): Model {
  const image = Input({ shape: [32, 32, 3], name: 'image' });
  const first = new Conv2D(8, 3, { padding: 'same', activation: 'relu', name: 'conv_a' }).apply(image);
  const second = new Conv2D(8, 3, { padding: 'same', name: 'conv_b' }).apply(first);
  const sum = new Add({ name: 'residual' }).apply([first, second]);
  const flat = new Flatten({ name: 'flatten_r' }).apply(sum);
  const logits = new Dense(10, { name: 'logits' }).apply(flat);
  return new Model({ inputs: image, outputs: logits, name: 'residual_net' });
}

/** An image and a feature vector, the flattened image joined to the vector, then one Dense. */
function twoInputModel(outputName = 'score'): Model {
  const image = Input({ shape: [16, 16, 1], name: 'pixels' });
  const features = Input({ shape: [4], name: 'features' });
  const flat = new Flatten({ name: 'flatten_image' }).apply(image);
  const joined = new Concatenate({ name: 'joined' }).apply([flat, features]);
  const score = new Dense(1, { activation: 'sigmoid', name: outputName }).apply(joined);
  return new Model({ inputs: [image, features], outputs: score });
}

const ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&amp;': '&', '&quot;': '"', '&apos;': "'" };
const unescape = (text: string) => text.replace(/&(lt|gt|amp|quot|apos);/g, (entity) => ENTITIES[entity]);

interface Box {
  name: string;
  className: string;
  texts: string[];
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The layer boxes of a diagram: name, class, text lines and rectangle. */
function boxesOf(svg: string): Box[] {
  return [...svg.matchAll(/<g class="layer" data-name="([^"]*)" data-class="([^"]*)">([\s\S]*?)<\/g>/g)].map((match) => {
    const rect = match[3].match(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/)!;
    return {
      name: unescape(match[1]),
      className: unescape(match[2]),
      texts: [...match[3].matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => unescape(m[1])),
      x: Number(rect[1]),
      y: Number(rect[2]),
      width: Number(rect[3]),
      height: Number(rect[4]),
    };
  });
}

interface Arrow {
  from: string;
  to: string;
  start: [number, number];
  end: [number, number];
}

/** The arrows of a diagram: the layers they join and where their paths start and end. */
function arrowsOf(svg: string): Arrow[] {
  return [...svg.matchAll(/<path class="edge" data-from="([^"]*)" data-to="([^"]*)" d="([^"]*)"[^>]*marker-end="url\(#arrowhead\)"/g)].map((match) => {
    const points = [...match[3].matchAll(/(-?[\d.]+),(-?[\d.]+)/g)].map((p) => [Number(p[1]), Number(p[2])] as [number, number]);
    return { from: unescape(match[1]), to: unescape(match[2]), start: points[0], end: points[points.length - 1] };
  });
}

describe('modelToSvg', () => {
  test('draws one box per layer of a residual model, with names, classes and shapes', () => {
    const model = residualModel();
    const svg = modelToSvg(model);
    expect(svg.startsWith('<?xml')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    const boxes = boxesOf(svg);
    expect(boxes.map((b) => b.name)).toEqual(model.layers.map((layer) => layer.name));
    expect(boxes.map((b) => [b.name, b.className])).toEqual([
      ['image', 'InputLayer'],
      ['conv_a', 'Conv2D'],
      ['conv_b', 'Conv2D'],
      ['residual', 'Add'],
      ['flatten_r', 'Flatten'],
      ['logits', 'Dense'],
    ]);
    const byName = new Map(boxes.map((b) => [b.name, b]));
    expect(byName.get('image')!.texts).toEqual(['image (InputLayer)', 'Input shape: (None, 32, 32, 3)', 'Output shape: (None, 32, 32, 3)']);
    expect(byName.get('conv_a')!.texts).toEqual(['conv_a (Conv2D)', 'Input shape: (None, 32, 32, 3)', 'Output shape: (None, 32, 32, 8)']);
    expect(byName.get('conv_b')!.texts).toEqual(['conv_b (Conv2D)', 'Input shape: (None, 32, 32, 8)', 'Output shape: (None, 32, 32, 8)']);
    expect(byName.get('residual')!.texts).toEqual([
      'residual (Add)',
      'Input shape: [(None, 32, 32, 8), (None, 32, 32, 8)]',
      'Output shape: (None, 32, 32, 8)',
    ]);
    expect(byName.get('flatten_r')!.texts).toEqual(['flatten_r (Flatten)', 'Input shape: (None, 32, 32, 8)', 'Output shape: (None, 8192)']);
    expect(byName.get('logits')!.texts).toEqual(['logits (Dense)', 'Input shape: (None, 8192)', 'Output shape: (None, 10)']);
  });

  test('draws one arrow per inbound connection, from the bottom of one box to the top of the next', () => {
    const svg = modelToSvg(residualModel());
    const arrows = arrowsOf(svg);
    expect(arrows.map((a) => `${a.from}->${a.to}`).sort()).toEqual(
      ['image->conv_a', 'conv_a->conv_b', 'conv_a->residual', 'conv_b->residual', 'residual->flatten_r', 'flatten_r->logits'].sort(),
    );
    expect(arrows.filter((a) => a.to === 'residual')).toHaveLength(2);
    const boxes = new Map(boxesOf(svg).map((b) => [b.name, b]));
    for (const arrow of arrows) {
      const from = boxes.get(arrow.from)!;
      const to = boxes.get(arrow.to)!;
      expect(arrow.start[1]).toBeCloseTo(from.y + from.height, 0);
      expect(arrow.start[0]).toBeGreaterThan(from.x);
      expect(arrow.start[0]).toBeLessThan(from.x + from.width);
      expect(arrow.end[1]).toBeCloseTo(to.y, 0);
      expect(arrow.end[0]).toBeGreaterThan(to.x);
      expect(arrow.end[0]).toBeLessThan(to.x + to.width);
    }
    // The two arrows into Add meet it at different points.
    const [a, b] = arrows.filter((arrow) => arrow.to === 'residual');
    expect(a.end[0]).not.toBeCloseTo(b.end[0], 0);
  });

  test('ranks layers by their longest path from an input, top to bottom', () => {
    const boxes = new Map(boxesOf(modelToSvg(residualModel())).map((b) => [b.name, b]));
    const order = ['image', 'conv_a', 'conv_b', 'residual', 'flatten_r', 'logits'].map((name) => boxes.get(name)!.y);
    for (let i = 1; i < order.length; i++) expect(order[i]).toBeGreaterThan(order[i - 1]);
    // No two boxes overlap.
    const list = [...boxes.values()];
    for (const p of list) {
      for (const q of list) {
        if (p === q) continue;
        const apart = p.x + p.width <= q.x || q.x + q.width <= p.x || p.y + p.height <= q.y || q.y + q.height <= p.y;
        expect(apart).toBe(true);
      }
    }
  });

  test('draws a two-input model: both inputs in the first rank, the join after the flatten', () => {
    const model = twoInputModel();
    const svg = modelToSvg(model);
    const boxes = boxesOf(svg);
    expect(boxes.map((b) => `${b.name} (${b.className})`).sort()).toEqual(
      ['pixels (InputLayer)', 'features (InputLayer)', 'flatten_image (Flatten)', 'joined (Concatenate)', 'score (Dense)'].sort(),
    );
    expect(boxes.map((b) => b.texts[0])).toEqual(boxes.map((b) => `${b.name} (${b.className})`));
    const byName = new Map(boxes.map((b) => [b.name, b]));
    expect(byName.get('features')!.texts.slice(1)).toEqual(['Input shape: (None, 4)', 'Output shape: (None, 4)']);
    expect(byName.get('flatten_image')!.texts.slice(1)).toEqual(['Input shape: (None, 16, 16, 1)', 'Output shape: (None, 256)']);
    expect(byName.get('joined')!.texts.slice(1)).toEqual(['Input shape: [(None, 256), (None, 4)]', 'Output shape: (None, 260)']);
    expect(byName.get('score')!.texts.slice(1)).toEqual(['Input shape: (None, 260)', 'Output shape: (None, 1)']);
    expect(byName.get('pixels')!.y).toBe(byName.get('features')!.y);
    expect(byName.get('pixels')!.x).toBeLessThan(byName.get('features')!.x);
    expect(byName.get('joined')!.y).toBeGreaterThan(byName.get('flatten_image')!.y);
    expect(byName.get('score')!.y).toBeGreaterThan(byName.get('joined')!.y);
    const arrows = arrowsOf(svg);
    expect(arrows.map((a) => `${a.from}->${a.to}`).sort()).toEqual(
      ['pixels->flatten_image', 'flatten_image->joined', 'features->joined', 'joined->score'].sort(),
    );
  });

  test("rankdir 'LR' lays the ranks out left to right, arrows from right side to left side", () => {
    const svg = modelToSvg(residualModel(), { rankdir: 'LR' });
    const boxes = new Map(boxesOf(svg).map((b) => [b.name, b]));
    const order = ['image', 'conv_a', 'conv_b', 'residual', 'flatten_r', 'logits'].map((name) => boxes.get(name)!.x);
    for (let i = 1; i < order.length; i++) expect(order[i]).toBeGreaterThan(order[i - 1]);
    const arrows = arrowsOf(svg);
    expect(arrows).toHaveLength(6);
    for (const arrow of arrows) {
      const from = boxes.get(arrow.from)!;
      const to = boxes.get(arrow.to)!;
      expect(arrow.start[0]).toBeCloseTo(from.x + from.width, 0);
      expect(arrow.end[0]).toBeCloseTo(to.x, 0);
    }
  });

  test('showShapes and showLayerNames false leave the shapes and names out', () => {
    const svg = modelToSvg(residualModel(), { showShapes: false, showLayerNames: false });
    const boxes = boxesOf(svg);
    expect(boxes.map((b) => b.texts)).toEqual([['InputLayer'], ['Conv2D'], ['Conv2D'], ['Add'], ['Flatten'], ['Dense']]);
    expect(svg).not.toMatch(/shape:/);
    expect(arrowsOf(svg)).toHaveLength(6);
  });

  test('a Sequential model: its layers (InputLayer excluded, as in model.layers) in a chain', () => {
    const model = seedModel();
    const svg = modelToSvg(model);
    const boxes = boxesOf(svg);
    expect(boxes.map((b) => b.className)).toEqual(['Conv2D', 'MaxPooling2D', 'Flatten', 'Dense', 'Dense']);
    expect(boxes[0].texts.slice(1)).toEqual(['Input shape: (None, 64, 64, 3)', 'Output shape: (None, 62, 62, 32)']);
    expect(arrowsOf(svg)).toHaveLength(4);
  });

  test('escapes XML in names', async () => {
    const svg = modelToSvg(twoInputModel(`score<&>"'`));
    expect(svg).toContain('score&lt;&amp;&gt;&quot;&apos; (Dense)');
    expect(svg).not.toContain('score<');
    expect(boxesOf(svg).map((b) => b.name)).toContain(`score<&>"'`);
    // Well-formed: sharp (librsvg) parses and renders it.
    const { info } = await sharp(Buffer.from(svg)).png().toBuffer({ resolveWithObject: true });
    expect(info.width).toBeGreaterThan(100);
  });

  test('rejects unknown options and bad values, naming them', () => {
    const model = residualModel();
    expect(() => modelToSvg(model, { showShape: true } as never)).toThrow(
      'plotModel: expected options among showShapes, showLayerNames, rankdir, dpi but received "showShape"',
    );
    expect(() => modelToSvg(model, { showShapes: 'yes' } as never)).toThrow(/plotModel: expected showShapes to be a boolean but received "yes"/);
    expect(() => modelToSvg(model, { showLayerNames: 1 } as never)).toThrow(/plotModel: expected showLayerNames to be a boolean/);
    expect(() => modelToSvg(model, { rankdir: 'BT' } as never)).toThrow(/plotModel: expected rankdir to be one of 'TB', 'LR' but received "BT"/);
    expect(() => modelToSvg(model, { dpi: -5 })).toThrow(/plotModel: expected dpi to be a number/);
    expect(() => modelToSvg({} as never)).toThrow(/plotModel: expected a Model/);
    expect(() => modelToSvg(new Sequential([new Dense(2)]))).toThrow(/plotModel: .*does not know its input shape yet/);
  });
});

describe('plotModel', () => {
  test('writes an SVG file for .svg', async () => {
    const model = residualModel();
    const file = path.join(directory, 'model.svg');
    await expect(plotModel(model, file)).resolves.toBeUndefined();
    expect(readFileSync(file, 'utf8')).toBe(modelToSvg(model));
  });

  test('writes a PNG rendered from the SVG for .png, creating the folder', async () => {
    const file = path.join(directory, 'figures', 'model.png');
    await plotModel(residualModel(), file);
    const image = sharp(readFileSync(file));
    const metadata = await image.metadata();
    expect(metadata.format).toBe('png');
    expect(metadata.width).toBeGreaterThan(100);
    expect(metadata.height).toBeGreaterThan(100);
    const stats = await image.stats();
    expect(stats.channels.some((channel) => channel.min !== channel.max)).toBe(true);
    expect(stats.isOpaque).toBe(true);
  });

  test('dpi scales the PNG (96 is one pixel per SVG pixel)', async () => {
    const model = twoInputModel();
    const svgWidth = Number(modelToSvg(model).match(/<svg[^>]* width="([\d.]+)"/)![1]);
    await plotModel(model, path.join(directory, 'a.png'));
    await plotModel(model, path.join(directory, 'b.png'), { dpi: 192 });
    const plain = await sharp(path.join(directory, 'a.png')).metadata();
    const sharp2x = await sharp(path.join(directory, 'b.png')).metadata();
    expect(Math.abs(plain.width! - svgWidth)).toBeLessThanOrEqual(1);
    expect(Math.abs(sharp2x.width! - 2 * svgWidth)).toBeLessThanOrEqual(2);
    expect(sharp2x.density).toBe(192);
  });

  test('any other extension is an error naming the file argument', async () => {
    const model = residualModel();
    await expect(plotModel(model, path.join(directory, 'model.jpg'))).rejects.toThrow(/plotModel: expected file to end in \.svg or \.png but received ".*model\.jpg"/);
    await expect(plotModel(model, path.join(directory, 'model'))).rejects.toThrow(/expected file to end in \.svg or \.png/);
    await expect(plotModel(model, '' as string)).rejects.toThrow(/plotModel: expected file to be a path/);
    await expect(plotModel(model, path.join(directory, 'm.svg'), { rankDir: 'LR' } as never)).rejects.toThrow(
      /plotModel: expected options among .* but received "rankDir"/,
    );
  });
});
