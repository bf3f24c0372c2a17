import { BatchNormalization, Dense, Sequential } from '../../lib';
import { seedModel } from '../helpers';

test("summary() prints Keras's table for the seed CNN", () => {
  const lines: string[] = [];
  const text = seedModel().summary({ printFn: (line) => lines.push(line) });
  expect(lines).toEqual([text]);
  const rows = text.split('\n');
  expect(rows[0]).toMatch(/^Model: "sequential(_\d+)?"$/);
  expect(rows[2]).toMatch(/^┃ Layer \(type\)\s+┃ Output Shape\s+┃\s+Param # ┃$/);
  expect(rows[4]).toMatch(/^│ conv2d(_\d+)? \(Conv2D\)\s+│ \(None, 62, 62, 32\)\s+│\s+896 │$/);
  expect(text).toMatch(/│ max_pooling2d(_\d+)? \(MaxPooling2D\)\s+│ \(None, 31, 31, 32\)\s+│\s+0 │/);
  expect(text).toMatch(/│ flatten(_\d+)? \(Flatten\)\s+│ \(None, 30752\)\s+│\s+0 │/);
  expect(text).toMatch(/│ dense(_\d+)? \(Dense\)\s+│ \(None, 128\)\s+│\s+3,936,384 │/);
  expect(rows.slice(-3)).toEqual([
    ' Total params: 3,937,409 (15.02 MB)',
    ' Trainable params: 3,937,409 (15.02 MB)',
    ' Non-trainable params: 0 (0.00 B)',
  ]);
});

test('summary() counts batch-norm statistics as non-trainable', () => {
  const model = new Sequential([new Dense(4, { inputShape: [3] }), new BatchNormalization()]);
  const text = model.summary({ printFn: () => undefined });
  expect(text).toMatch(/ Total params: 32 \(128\.00 B\)/);
  expect(text).toMatch(/ Trainable params: 24 \(96\.00 B\)/);
  expect(text).toMatch(/ Non-trainable params: 8 \(32\.00 B\)/);
});

test('summary() before the input shape is known is a clear error', () => {
  expect(() => new Sequential([new Dense(2)]).summary()).toThrow(/summary: the model does not know its input shape yet/);
});
