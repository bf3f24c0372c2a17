import {
  Activation,
  AveragePooling2D,
  BatchNormalization,
  Conv2D,
  Dense,
  Dropout,
  Flatten,
  GlobalAveragePooling2D,
  InputLayer,
  Layer,
  MaxPooling2D,
  Rescaling,
} from '../../lib';

describe('Layer base', () => {
  test.each([
    ['Conv2D', () => new Conv2D(2, 3), 'conv2d'],
    ['Dense', () => new Dense(2), 'dense'],
    ['MaxPooling2D', () => new MaxPooling2D(), 'max_pooling2d'],
    ['AveragePooling2D', () => new AveragePooling2D(), 'average_pooling2d'],
    ['GlobalAveragePooling2D', () => new GlobalAveragePooling2D(), 'global_average_pooling2d'],
    ['BatchNormalization', () => new BatchNormalization(), 'batch_normalization'],
    ['Flatten', () => new Flatten(), 'flatten'],
    ['Dropout', () => new Dropout(0.1), 'dropout'],
    ['Activation', () => new Activation('relu'), 'activation'],
    ['Rescaling', () => new Rescaling(2), 'rescaling'],
    ['InputLayer', () => new InputLayer({ inputShape: [2] }), 'input_layer'],
  ] as [string, () => Layer, string][])('%s gets Keras default names with a counter', (_name, make, base) => {
    const first = make();
    const second = make();
    expect(first.name).toMatch(new RegExp(`^${base}(_\\d+)?$`));
    expect(second.name).toMatch(new RegExp(`^${base}_\\d+$`));
    expect(second.name).not.toBe(first.name);
  });

  test('explicit names, trainable and inputShape are kept and reported by getConfig', () => {
    const layer = new Dense(3, { name: 'head', trainable: false, inputShape: [4] });
    expect(layer.name).toBe('head');
    expect(layer.trainable).toBe(false);
    expect(layer.batchInputShape).toEqual([4]);
    expect(layer.getConfig()).toMatchObject({ name: 'head', trainable: false, inputShape: [4], units: 3 });
    layer.trainable = true;
    expect(layer.trainable).toBe(true);
  });

  test('inputDim is the legacy spelling of a one-axis inputShape', () => {
    expect(new Dense(3, { inputDim: 7 }).batchInputShape).toEqual([7]);
  });

  test('bad common options are rejected with the argument named', () => {
    expect(() => new Dense(3, { name: '' })).toThrow(/Dense: expected name to be a non-empty string but received ""/);
    expect(() => new Dense(3, { trainable: 'yes' as unknown as boolean })).toThrow(/Dense: expected trainable to be a boolean but received "yes"/);
    expect(() => new Dense(3, { inputShape: [0, 2] })).toThrow(/Dense: expected inputShape to be a non-empty array of positive integers but received \[0, 2\]/);
    expect(() => new Dense(3, { inputShape: [2], inputDim: 2 })).toThrow(/Dense: expected either inputShape or inputDim, not both/);
    expect(() => new Flatten(null as unknown as {})).toThrow(/Flatten: expected options to be an options object but received null/);
    const layer = new Dense(3);
    expect(() => {
      layer.trainable = 0 as unknown as boolean;
    }).toThrow(/expected trainable to be a boolean but received 0/);
  });
});
