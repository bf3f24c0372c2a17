/**
 * Python's str.format for the file names of callbacks: `model-{epoch:02d}-{val_loss:.2f}.safetensors`.
 * Supported: `{name}`, `{{`/`}}`, and format specs `[[fill]align][sign][0][width][,][.precision][type]`
 * with types d, f, F, e, E, g, G, % and none.
 */
import { ValueError } from '../errors';

const SPEC = /^(?:(.)?([<>=^]))?([+\- ])?(0)?(\d+)?(,)?(?:\.(\d+))?([dfFeEgG%s])?$/;

/** Python's exponent notation: at least two exponent digits (`1.2345e-04`). */
function exponential(value: number, precision: number, upper: boolean): string {
  const [mantissa, exponent] = value.toExponential(precision).split('e');
  const sign = exponent.startsWith('-') ? '-' : '+';
  const text = `${mantissa}e${sign}${exponent.replace(/^[+-]/, '').padStart(2, '0')}`;
  return upper ? text.toUpperCase() : text;
}

/** Python's 'g': fixed or exponent notation by magnitude, trailing zeros removed. */
function general(value: number, precision: number, upper: boolean): string {
  const p = precision === 0 ? 1 : precision;
  if (value === 0) return '0';
  const exponent = Math.floor(Math.log10(Math.abs(Number(value.toPrecision(p)))));
  const strip = (text: string): string => text.replace(/(\.\d*?)0+(e|$)/, '$1$2').replace(/\.(e|$)/, '$1');
  if (exponent >= -4 && exponent < p) return strip(value.toFixed(Math.max(0, p - 1 - exponent)));
  return strip(exponential(value, p - 1, upper));
}

/**
 * Python's repr of a number (`0.25`, `1e-05`, `1.5e+16`, `nan`, `inf`), as `{name}` without a spec and
 * CSVLogger print it. Whole numbers print without `.0` (epochs and batches are integers here).
 */
export function pythonRepr(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0) return '0';
  // The shortest digits that round-trip, placed the way Python places them: exponent form below 1e-4
  // and from 1e16 up.
  const [mantissa, exponentText] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent >= -4 && exponent < 16) {
    const sign = value < 0 ? '-' : '';
    const digits = mantissa.replace('-', '').replace('.', '');
    if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
    if (digits.length <= exponent + 1) return sign + digits.padEnd(exponent + 1, '0');
    return `${sign}${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
  }
  return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

function formatValue(template: string, name: string, value: number, spec: string): string {
  const match = SPEC.exec(spec);
  if (!match) throw new ValueError(`invalid format spec '${spec}' for '${name}' in "${template}"`);
  const [, fillGiven, alignGiven, sign = '-', zero, widthText, grouping, precisionText, type] = match;
  const precision = precisionText === undefined ? 6 : Number(precisionText);
  const magnitude = Math.abs(value);
  let body: string;
  if (!Number.isFinite(value)) {
    body = Number.isNaN(value) ? 'nan' : 'inf';
  } else {
    switch (type) {
      case 'd':
        if (!Number.isInteger(value)) {
          throw new ValueError(`cannot format '${name}' = ${value} with '${spec}' in "${template}": 'd' needs an integer (use '.4f')`);
        }
        body = String(magnitude);
        break;
      case 'f':
      case 'F':
        body = magnitude.toFixed(precision);
        break;
      case 'e':
      case 'E':
        body = exponential(magnitude, precision, type === 'E');
        break;
      case 'g':
      case 'G':
        body = general(magnitude, precisionText === undefined ? 6 : precision, type === 'G');
        break;
      case '%':
        body = `${(magnitude * 100).toFixed(precision)}%`;
        break;
      default:
        body = precisionText === undefined ? pythonRepr(magnitude) : general(magnitude, precision, false);
    }
  }
  if (grouping) {
    const [whole, fraction] = body.split('.');
    body = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (fraction !== undefined ? `.${fraction}` : '');
  }
  const signText = value < 0 || Object.is(value, -0) ? '-' : sign === '+' ? '+' : sign === ' ' ? ' ' : '';
  const width = widthText === undefined ? 0 : Number(widthText);
  const fill = fillGiven ?? (zero && !alignGiven ? '0' : ' ');
  const align = alignGiven ?? (zero ? '=' : '>');
  const padding = Math.max(0, width - signText.length - body.length);
  switch (align) {
    case '<':
      return signText + body + fill.repeat(padding);
    case '^':
      return fill.repeat(Math.floor(padding / 2)) + signText + body + fill.repeat(Math.ceil(padding / 2));
    case '=':
      return signText + fill.repeat(padding) + body;
    default:
      return fill.repeat(padding) + signText + body;
  }
}

/**
 * Fills `{name}` and `{name:spec}` fields of `template` from `values`. Throws a ValueError naming the field
 * when a value is missing or the spec does not fit it.
 */
export function formatTemplate(template: string, values: Record<string, number>): string {
  let result = '';
  for (let i = 0; i < template.length; i++) {
    const char = template[i];
    if (char === '}') {
      if (template[i + 1] !== '}') throw new ValueError(`single '}' in "${template}"; write '}}' for a literal brace`);
      result += '}';
      i++;
      continue;
    }
    if (char !== '{') {
      result += char;
      continue;
    }
    if (template[i + 1] === '{') {
      result += '{';
      i++;
      continue;
    }
    const end = template.indexOf('}', i);
    if (end < 0) throw new ValueError(`unclosed '{' in "${template}"`);
    const field = template.slice(i + 1, end);
    const colon = field.indexOf(':');
    const name = colon < 0 ? field : field.slice(0, colon);
    const spec = colon < 0 ? '' : field.slice(colon + 1);
    if (!Object.prototype.hasOwnProperty.call(values, name)) {
      throw new ValueError(
        `no value named '${name}' for "${template}"; available: ${Object.keys(values).join(', ') || 'none'}`,
      );
    }
    result += formatValue(template, name, values[name], spec);
    i = end;
  }
  return result;
}

/** The field names a template uses, in order (for checking a template up front). */
export function templateFields(template: string): string[] {
  const fields: string[] = [];
  const pattern = /\{\{|\}\}|\{([^{}:]*)(?::[^{}]*)?\}/g;
  for (let match = pattern.exec(template); match; match = pattern.exec(template)) {
    if (match[1] !== undefined) fields.push(match[1]);
  }
  return fields;
}
