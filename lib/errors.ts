/**
 * One error factory for the whole API, so every message reads the same way:
 * `Conv2D: expected filters to be a positive integer but received -3`.
 */

/** A bad value for an argument: its message names the argument, what was expected and what was received. */
export class ValueError extends Error {
  override name = 'ValueError';
}

/** A description of a received value that is already text for a message (`shape [3, 2]`), printed as-is. */
export class Described {
  constructor(readonly text: string) {}
}

/** Wraps `text` so that `describe()` (and so `invalidArgument`) prints it without quotes. */
export function described(text: string): Described {
  return new Described(text);
}

/** Describes a received value for an error message, briefly and without throwing. */
export function describe(value: unknown): string {
  if (value instanceof Described) return value.text;
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'function') return `a function ${value.name || '(anonymous)'}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as unknown as ArrayLike<unknown>).length}`;
  if (Array.isArray(value)) {
    if (value.length > 8) return `an array of length ${value.length}`;
    return `[${value.map(describe).join(', ')}]`;
  }
  const name = (value as object).constructor?.name;
  if (name && name !== 'Object') return `a ${name}`;
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return 'an object';
  }
}

/** `${context}: expected ${what} but received ${received}`. */
export function invalidArgument(context: string, what: string, received: unknown): ValueError {
  return new ValueError(`${context}: expected ${what} but received ${describe(received)}`);
}
