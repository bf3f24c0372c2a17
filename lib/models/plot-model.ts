/**
 * A picture of a model's graph, Keras's `keras.utils.plot_model`: one box per layer of `model.layers`
 * (its name and class, and its input and output shapes), an arrow for each tensor a layer reads, laid out
 * in ranks by depth (a layer's rank is the longest path to it from an input), top to bottom or left to
 * right. Drawn as SVG and, for `.png` files, rendered by sharp.
 *
 *   await plotModel(model, 'model.png', { showShapes: true, rankdir: 'LR' });
 */
import * as path from 'node:path';
import { invalidArgument, ValueError } from '../errors';
import type { Layer } from '../layers/layer';
import type { SymbolicTensor } from '../layers/symbolic';
import { escapeXml, writeSvgOrPng } from '../plot';
import { checkBoolean, checkKnownOptions, checkNumberInRange, checkOneOf, checkPlainObject } from '../validation';
import type { Topology } from './functional';
import { Model } from './model';

export interface PlotModelOptions {
  /** Show each layer's input and output shapes, `(None, 64, 64, 3)`. Default true. */
  showShapes?: boolean;
  /** Show each layer's name before its class, `conv2d (Conv2D)`; the class alone when false. Default true. */
  showLayerNames?: boolean;
  /** 'TB' draws the graph top to bottom, 'LR' left to right. Default 'TB'. */
  rankdir?: 'TB' | 'LR';
  /** The resolution of a PNG: 96 (the default) is one pixel per SVG pixel, 192 twice as many each way. */
  dpi?: number;
}

const OPTION_KEYS = ['showShapes', 'showLayerNames', 'rankdir', 'dpi'];
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const TITLE_SIZE = 13;
const TEXT_SIZE = 12;
const HEADER_HEIGHT = 28;
const LINE_HEIGHT = 18;
const BOX_PADDING = 12;
const MIN_BOX_WIDTH = 110;
/** Space between neighbours in a rank, between ranks, and around the picture. */
const SIBLING_GAP = 28;
const RANK_GAP = 52;
const MARGIN = 24;
/** The room an edge passing through a rank takes there. */
const DUMMY_SIZE = 14;
/** The widest spacing of the arrows that meet one side of a box. */
const PORT_SPACING = 26;

interface Resolved {
  showShapes: boolean;
  showLayerNames: boolean;
  rankdir: 'TB' | 'LR';
  dpi: number | undefined;
}

function resolveOptions(options: unknown): Resolved {
  checkPlainObject('plotModel', 'options', options);
  checkKnownOptions('plotModel', options as object, OPTION_KEYS);
  const given = options as PlotModelOptions;
  return {
    showShapes: given.showShapes === undefined ? true : checkBoolean('plotModel', 'showShapes', given.showShapes),
    showLayerNames: given.showLayerNames === undefined ? true : checkBoolean('plotModel', 'showLayerNames', given.showLayerNames),
    rankdir: given.rankdir === undefined ? 'TB' : checkOneOf('plotModel', 'rankdir', given.rankdir, ['TB', 'LR'] as const),
    dpi: given.dpi === undefined ? undefined : checkNumberInRange('plotModel', 'dpi', given.dpi, 0, 1200, { minExclusive: true }),
  };
}

/** The model's structure, or a message that names plotModel when a Sequential does not know its input yet. */
function topologyOf(model: unknown): Topology {
  if (!(model instanceof Model)) throw invalidArgument('plotModel', 'a Model (functional or Sequential)', model);
  try {
    return model.topology;
  } catch (error) {
    throw new ValueError(`plotModel: ${(error as Error).message}`);
  }
}

// ---- text ----------------------------------------------------------------------------------------

/** `(None, 64, 64, 3)`, as Keras prints a shape. */
function formatTensorShape(tensor: SymbolicTensor): string {
  const dims = tensor.shape.map((d) => (d === null ? 'None' : String(d)));
  return dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
}

function formatTensors(tensors: readonly SymbolicTensor[]): string {
  return tensors.length === 1 ? formatTensorShape(tensors[0]) : `[${tensors.map(formatTensorShape).join(', ')}]`;
}

/** The shapes of the layer's nodes in this model: one text, `multiple` when its nodes differ, `?` without nodes. */
function shapesText(topology: Topology, layer: Layer, side: 'input' | 'output'): string {
  const texts = new Set(
    topology.nodesOf(layer).map((node) => formatTensors(side === 'output' || node.inputs.length === 0 ? node.outputs : node.inputs)),
  );
  return texts.size === 0 ? '?' : texts.size === 1 ? [...texts][0] : 'multiple';
}

/** An estimate of the width of `text` in DejaVu Sans (a little generous, so the text stays inside its box). */
function textWidth(text: string, size: number, bold: boolean): number {
  let ems = 0;
  for (const c of text) {
    if (/[il.,:;'|!()[\]{}\s]/.test(c)) ems += 0.36;
    else if (/[fjrtI1]/.test(c)) ems += 0.45;
    else if (/[mwMW@%]/.test(c)) ems += 0.95;
    else if (/[A-Z]/.test(c)) ems += 0.72;
    else ems += 0.62;
  }
  return ems * size * (bold ? 1.12 : 1);
}

// ---- layout --------------------------------------------------------------------------------------

/** A box for a layer, or a point an edge passes through in a rank it crosses. Positions along the rank axis ('main') and across it ('cross'). */
interface Item {
  layer?: Layer;
  index: number;
  rank: number;
  lines: string[];
  mainSize: number;
  crossSize: number;
  cross: number;
  order: number;
  /** For a pass-through point: the position of the edge's source, to order them. */
  sourceIndex: number;
}

interface Edge {
  from: Item;
  to: Item;
  /** The pass-through points, one per rank strictly between the two. */
  via: Item[];
  /** Where the edge leaves `from` and enters `to`, across the rank axis (set when ports are spread). */
  startCross: number;
  endCross: number;
}

interface Drawing {
  items: Item[];
  edges: Edge[];
  ranks: { start: number; size: number }[];
  width: number;
  height: number;
}

function layout(model: Model, topology: Topology, options: Resolved): Drawing {
  const layers = model.layers;
  const position = new Map<Layer, number>(layers.map((layer, i) => [layer, i]));
  const vertical = options.rankdir === 'TB';

  // One arrow per tensor a node of a drawn layer reads from a drawn layer.
  const connections: { from: Layer; to: Layer }[] = [];
  for (const layer of layers) {
    for (const node of topology.nodesOf(layer)) {
      for (const input of node.inputs) {
        if (position.has(input.sourceLayer)) connections.push({ from: input.sourceLayer, to: layer });
      }
    }
  }

  // Ranks: the longest path from a layer without drawn inputs. A layer shared so that the layer graph has a
  // cycle gets its cycle broken at the edges a depth-first walk (in model.layers order) finds going back.
  const successors = new Map<Layer, Layer[]>(layers.map((layer) => [layer, []]));
  for (const { from, to } of connections) successors.get(from)!.push(to);
  const backward = new Set<string>();
  const state = new Map<Layer, 'open' | 'done'>();
  const key = (from: Layer, to: Layer) => `${position.get(from)}>${position.get(to)}`;
  const walk = (layer: Layer) => {
    state.set(layer, 'open');
    for (const next of successors.get(layer)!) {
      if (state.get(next) === 'open') backward.add(key(layer, next));
      else if (!state.has(next)) walk(next);
    }
    state.set(layer, 'done');
  };
  for (const layer of layers) if (!state.has(layer)) walk(layer);
  const predecessors = new Map<Layer, Layer[]>(layers.map((layer) => [layer, []]));
  for (const { from, to } of connections) if (!backward.has(key(from, to))) predecessors.get(to)!.push(from);
  const rankOf = new Map<Layer, number>();
  const rank = (layer: Layer): number => {
    let value = rankOf.get(layer);
    if (value === undefined) {
      value = Math.max(-1, ...predecessors.get(layer)!.map(rank)) + 1;
      rankOf.set(layer, value);
    }
    return value;
  };

  // Boxes.
  const items: Item[] = layers.map((layer, index) => {
    const title = options.showLayerNames ? `${layer.name} (${layer.className})` : layer.className;
    const lines = [title];
    if (options.showShapes) {
      lines.push(`Input shape: ${shapesText(topology, layer, 'input')}`, `Output shape: ${shapesText(topology, layer, 'output')}`);
    }
    const width = Math.max(
      MIN_BOX_WIDTH,
      Math.ceil(Math.max(...lines.map((line, i) => textWidth(line, i === 0 ? TITLE_SIZE : TEXT_SIZE, i === 0))) + 2 * BOX_PADDING),
    );
    const height = HEADER_HEIGHT + (lines.length > 1 ? (lines.length - 1) * LINE_HEIGHT + 12 : 0);
    return {
      layer,
      index,
      rank: rank(layer),
      lines,
      mainSize: vertical ? height : width,
      crossSize: vertical ? width : height,
      cross: 0,
      order: 0,
      sourceIndex: index,
    };
  });
  const itemOf = new Map<Layer, Item>(items.map((item) => [item.layer!, item]));

  // Edges, with a pass-through point in every rank an edge crosses.
  const all = [...items];
  const edges: Edge[] = connections.map(({ from, to }) => {
    const source = itemOf.get(from)!;
    const target = itemOf.get(to)!;
    const via: Item[] = [];
    for (let r = source.rank + 1; r < target.rank; r++) {
      const point: Item = { index: all.length, rank: r, lines: [], mainSize: 0, crossSize: DUMMY_SIZE, cross: 0, order: 0, sourceIndex: source.index };
      all.push(point);
      via.push(point);
    }
    return { from: source, to: target, via, startCross: 0, endCross: 0 };
  });

  // Order within a rank: the first rank in model.layers order, each next one by the mean position of what
  // it is drawn from in the rank before (fewer crossings); ties keep model.layers order, boxes before
  // pass-through points.
  const rankCount = Math.max(...all.map((item) => item.rank)) + 1;
  const byRank: Item[][] = Array.from({ length: rankCount }, () => []);
  for (const item of all) byRank[item.rank].push(item);
  const above = new Map<Item, Item[]>();
  for (const edge of edges) {
    const chain = [edge.from, ...edge.via, edge.to];
    for (let i = 1; i < chain.length; i++) {
      if (chain[i].rank !== chain[i - 1].rank + 1) continue; // an edge closing a cycle does not order
      const list = above.get(chain[i]) ?? [];
      list.push(chain[i - 1]);
      above.set(chain[i], list);
    }
  }
  byRank.forEach((row, r) => {
    const barycenter = (item: Item): number => {
      const from = above.get(item);
      return r === 0 || !from ? -1 : from.reduce((sum, i) => sum + i.order, 0) / from.length;
    };
    const keyed = row.map((item) => ({ item, center: barycenter(item) }));
    keyed.sort(
      (a, b) =>
        a.center - b.center ||
        Number(a.item.layer === undefined) - Number(b.item.layer === undefined) ||
        a.item.sourceIndex - b.item.sourceIndex ||
        a.item.index - b.item.index,
    );
    keyed.forEach(({ item }, i) => (item.order = i));
    byRank[r] = keyed.map(({ item }) => item);
  });

  // Positions: each rank a centred row across the rank axis; ranks as deep as their deepest box.
  const rowSize = (row: Item[]) => row.reduce((sum, item) => sum + item.crossSize, 0) + SIBLING_GAP * (row.length - 1);
  const crossExtent = Math.max(...byRank.map(rowSize));
  for (const row of byRank) {
    let at = MARGIN + (crossExtent - rowSize(row)) / 2;
    for (const item of row) {
      item.cross = at + item.crossSize / 2;
      at += item.crossSize + SIBLING_GAP;
    }
  }
  const ranks: { start: number; size: number }[] = [];
  let main = MARGIN;
  for (const row of byRank) {
    const size = Math.max(...row.map((item) => item.mainSize));
    ranks.push({ start: main, size });
    main += size + RANK_GAP;
  }
  const mainExtent = main - RANK_GAP + MARGIN;

  // Ports: the arrows meeting one side of a box spread along it, in the order of where they come from.
  const spread = (item: Item, ends: { edge: Edge; toward: number; set: (edge: Edge, cross: number) => void }[]) => {
    ends.sort((a, b) => a.toward - b.toward);
    const spacing = Math.min(PORT_SPACING, item.crossSize / (ends.length + 1));
    ends.forEach(({ edge, set }, i) => set(edge, item.cross + (i - (ends.length - 1) / 2) * spacing));
  };
  for (const item of items) {
    spread(
      item,
      edges
        .filter((edge) => edge.to === item)
        .map((edge) => ({ edge, toward: (edge.via[edge.via.length - 1] ?? edge.from).cross, set: (e: Edge, c: number) => (e.endCross = c) })),
    );
    spread(
      item,
      edges
        .filter((edge) => edge.from === item)
        .map((edge) => ({ edge, toward: (edge.via[0] ?? edge.to).cross, set: (e: Edge, c: number) => (e.startCross = c) })),
    );
  }

  return {
    items,
    edges,
    ranks,
    width: vertical ? crossExtent + 2 * MARGIN : mainExtent,
    height: vertical ? mainExtent : crossExtent + 2 * MARGIN,
  };
}

// ---- drawing -------------------------------------------------------------------------------------

function round(value: number): string {
  return String(Math.round(value * 10) / 10);
}

function drawModel(model: Model, drawing: Drawing, options: Resolved): string {
  const vertical = options.rankdir === 'TB';
  /** Main/cross coordinates to x, y. */
  const xy = (main: number, cross: number): string => (vertical ? `${round(cross)},${round(main)}` : `${round(main)},${round(cross)}`);
  const boxStart = (item: Item) => drawing.ranks[item.rank].start + (drawing.ranks[item.rank].size - item.mainSize) / 2;
  const out: string[] = [];

  for (const edge of drawing.edges) {
    const points: [number, number][] = [[boxStart(edge.from) + edge.from.mainSize, edge.startCross]];
    for (const point of edge.via) {
      const band = drawing.ranks[point.rank];
      points.push([band.start, point.cross], [band.start + band.size, point.cross]);
    }
    points.push([boxStart(edge.to), edge.endCross]);
    let d = `M${xy(...points[0])}`;
    for (let i = 1; i < points.length; i++) {
      const [fromMain, fromCross] = points[i - 1];
      const [toMain, toCross] = points[i];
      if (toMain > fromMain) {
        // An S-curve between ranks, straight through a rank.
        const bend = (toMain - fromMain) / 2;
        d += ` C${xy(fromMain + bend, fromCross)} ${xy(toMain - bend, toCross)} ${xy(toMain, toCross)}`;
      } else {
        // An edge closing a cycle (a layer shared along a chain): out of the box, round the boxes' far
        // side, and back into the target from where arrows enter it.
        const sideCross = Math.max(edge.from.cross + edge.from.crossSize / 2, edge.to.cross + edge.to.crossSize / 2) + SIBLING_GAP / 2;
        const sideMain = (fromMain + toMain) / 2;
        const bend = RANK_GAP / 3;
        d += ` C${xy(fromMain + bend, fromCross)} ${xy(fromMain + bend, sideCross)} ${xy(sideMain, sideCross)}`;
        d += ` C${xy(toMain - bend, sideCross)} ${xy(toMain - bend, toCross)} ${xy(toMain, toCross)}`;
      }
    }
    out.push(
      `<path class="edge" data-from="${escapeXml(edge.from.layer!.name)}" data-to="${escapeXml(edge.to.layer!.name)}" d="${d}" ` +
        `fill="none" stroke="#444" stroke-width="1.4" marker-end="url(#arrowhead)"/>`,
    );
  }

  for (const item of drawing.items) {
    const layer = item.layer!;
    const width = vertical ? item.crossSize : item.mainSize;
    const height = vertical ? item.mainSize : item.crossSize;
    const left = vertical ? item.cross - width / 2 : boxStart(item);
    const top = vertical ? boxStart(item) : item.cross - height / 2;
    const center = left + width / 2;
    out.push(`<g class="layer" data-name="${escapeXml(layer.name)}" data-class="${escapeXml(layer.className)}">`);
    out.push(`<rect x="${round(left)}" y="${round(top)}" width="${round(width)}" height="${round(height)}" rx="5" fill="white" stroke="#333" stroke-width="1.2"/>`);
    // The header: the layer's name and class, white on dark (square at the bottom where the body starts).
    const header = `M${round(left)},${round(top + HEADER_HEIGHT)} V${round(top + 5)} Q${round(left)},${round(top)} ${round(left + 5)},${round(top)} ` +
      `H${round(left + width - 5)} Q${round(left + width)},${round(top)} ${round(left + width)},${round(top + 5)} V${round(top + HEADER_HEIGHT)} Z`;
    out.push(`<path class="header" d="${header}" fill="#2f3e4e" stroke="#333" stroke-width="1.2"/>`);
    out.push(
      `<text class="title" x="${round(center)}" y="${round(top + HEADER_HEIGHT / 2)}" text-anchor="middle" dominant-baseline="central" ` +
        `font-size="${TITLE_SIZE}" font-weight="bold" fill="white">${escapeXml(item.lines[0])}</text>`,
    );
    item.lines.slice(1).forEach((line, i) => {
      out.push(
        `<text class="shape" x="${round(center)}" y="${round(top + HEADER_HEIGHT + 6 + LINE_HEIGHT * (i + 0.5))}" text-anchor="middle" ` +
          `dominant-baseline="central" font-size="${TEXT_SIZE}">${escapeXml(line)}</text>`,
      );
    });
    out.push('</g>');
  }

  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${round(drawing.width)}" height="${round(drawing.height)}" ` +
      `viewBox="0 0 ${round(drawing.width)} ${round(drawing.height)}" font-family="${FONT}" fill="#222">`,
    `<title>${escapeXml(model.name)}</title>`,
    '<defs><marker id="arrowhead" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">' +
      '<path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker></defs>',
    `<rect width="100%" height="100%" fill="white"/>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}

function render(model: Model, options: PlotModelOptions): { svg: string; resolved: Resolved } {
  const topology = topologyOf(model);
  const resolved = resolveOptions(options);
  return { svg: drawModel(model, layout(model, topology, resolved), resolved), resolved };
}

/** The SVG text of the model's diagram (what plotModel writes to a .svg file). */
export function modelToSvg(model: Model, options: PlotModelOptions = {}): string {
  return render(model, options).svg;
}

/**
 * Draws the model's graph to `file` (Keras's `plot_model`): SVG for `.svg`, PNG (rendered by sharp) for
 * `.png`. Creates the file's folder when missing.
 */
export async function plotModel(model: Model, file: string, options: PlotModelOptions = {}): Promise<void> {
  if (typeof file !== 'string' || file.length === 0) throw invalidArgument('plotModel', 'file to be a path', file);
  const extension = path.extname(file).toLowerCase();
  if (extension !== '.svg' && extension !== '.png') throw invalidArgument('plotModel', 'file to end in .svg or .png', file);
  const { svg, resolved } = render(model, options);
  await writeSvgOrPng(svg, file, { dpi: resolved.dpi });
}
