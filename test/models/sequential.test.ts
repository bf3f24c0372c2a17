import {
  Activation,
  Conv2D,
  Dense,
  Flatten,
  InputLayer,
  MaxPooling2D,
  Sequential,
  SGD,
  Tensor,
  tensor,
  zeros,
} from '../../lib';
import { expectClose, seededRandom, seedModel, values } from '../helpers';


function smallModel(): Sequential {
  return new Sequential([new InputLayer({ inputShape: [4] }), new Dense(3, { activation: 'relu' }), new Dense(2, { activation: 'softmax' })]);
}

function randomTensor(shape: number[], seed: number): Tensor {
  const next = seededRandom(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tensor(Float32Array.from({ length: size }, () => next() * 2 - 1), shape);
}

describe('Sequential.add / pop / layers', () => {
  test('add infers shapes layer by layer; layers excludes the InputLayer', () => {
    const model = new Sequential([new InputLayer({ inputShape: [8, 8, 1] })]);
    expect(model.layers).toEqual([]);
    expect(model.outputShape).toEqual([8, 8, 1]);
    const conv = new Conv2D(4, 3);
    model.add(conv);
    model.add(new Flatten());
    expect(model.outputShape).toEqual([144]);
    expect(model.layers[0]).toBe(conv);
    expect(model.layers.map((l) => l.className)).toEqual(['Conv2D', 'Flatten']);
    expect(model.inputShape).toEqual([8, 8, 1]);
  });

  test('add rejects what is not a layer', () => {
    const model = new Sequential();
    expect(() => model.add({ name: 'dense' } as never)).toThrow(/Sequential\.add: expected a Layer instance but received \{"name":"dense"\}/);
    expect(() => model.add(Dense as never)).toThrow(/Sequential\.add: expected a Layer instance but received a function Dense/);
  });

  test('add rejects duplicate names', () => {
    const model = new Sequential([new Dense(2, { name: 'hidden', inputShape: [3] })]);
    expect(() => model.add(new Dense(2, { name: 'hidden' }))).toThrow(
      /Sequential\.add: expected a layer with a unique name \(the model already has 'hidden'\) but received "hidden"/,
    );
    expect(model.layers).toHaveLength(1);
  });

  test('add rejects a layer whose input does not fit, naming the shapes, and leaves the model unchanged', () => {
    const model = new Sequential([new Conv2D(32, 3, { inputShape: [64, 64, 3] })]);
    expect(() => model.add(new Conv2D(8, 63, { name: 'head' }))).toThrow(
      /Conv2D 'head': expected input of at least the kernel's extent 63x63 in height and width but received \[\*, 62, 62, 32\]/,
    );
    expect(model.layers).toHaveLength(1);
    model.add(new Flatten());
    expect(() => model.add(new Dense(1, { name: 'mismatch', inputShape: [10] }))).toThrow(
      /Sequential\.add 'mismatch': expected inputShape \[\*, 123008\] \(the output of the layer below\) but received "\[\*, 10\]"/,
    );
    expect(model.layers).toHaveLength(2);
  });

  test('pop removes the top layer and returns it; popping an empty model is an error', () => {
    const model = smallModel();
    const top = model.layers[1];
    expect(model.pop()).toBe(top);
    expect(model.outputShape).toEqual([3]);
    expect(model.countParams()).toBe(15);
    model.pop();
    expect(model.layers).toEqual([]);
    expect(() => model.pop()).toThrow(/Sequential\.pop: the model has no layers/);
  });

  test('pop and add keep the weights of the layers that stayed', () => {
    const model = smallModel();
    const first = values(model.getWeights()[0]);
    model.pop();
    model.add(new Dense(5));
    const weights = model.getWeights();
    expect(weights.map((w) => [...w.shape])).toEqual([[4, 3], [3], [3, 5], [5]]);
    expect(values(weights[0])).toEqual(first);
  });

  test('countParams without an input shape is an error that says what to do', () => {
    const model = new Sequential([new Dense(2)]);
    expect(() => model.countParams()).toThrow(/countParams: the model does not know its input shape yet; give the first layer an inputShape or call fit\/predict first/);
  });
});

describe('Sequential.compile', () => {
  test('unknown loss and optimizer names list the valid ones', () => {
    const model = smallModel();
    expect(() => model.compile({ optimizer: 'adam', loss: 'hinge_loss' })).toThrow(
      /compile: expected loss to be one of 'binary_crossentropy', 'categorical_crossentropy', 'sparse_categorical_crossentropy', .*'cosine_similarity' or a Loss object but received "hinge_loss"/,
    );
    expect(() => model.compile({ optimizer: 'adadelta' as 'adam', loss: 'mse' })).toThrow(
      /compile: expected optimizer to be one of 'adam', 'adamw', 'sgd', 'rmsprop', 'adagrad', 'nadam', 'adamax', 'lion' or an Optimizer instance but received "adadelta"/,
    );
    expect(() => model.compile({ optimizer: 'adam', loss: 'mse', metrics: 'accuracy' as never })).toThrow(/compile: expected metrics to be an array of metric names or Metric objects but received "accuracy"/);
    expect(() => model.compile({ optimizer: 'adam', loss: 'mse', metric: ['accuracy'] } as never)).toThrow(/compile: expected options among optimizer, loss, metrics, lossWeights but received "metric"/);
  });

  test('the optimizer defaults to rmsprop, as in Keras', () => {
    const model = smallModel();
    model.compile({ loss: 'mse' });
    expect(model.optimizer!.className).toBe('RMSprop');
    expect(model.optimizer!.learningRate).toBeCloseTo(0.001, 10);
  });

  test('fit, evaluate, trainOnBatch before compile are errors', async () => {
    const model = smallModel();
    await expect(model.fit(zeros([2, 4]), zeros([2, 2]), { verbose: 0 })).rejects.toThrow(/fit: the model must be compiled first; call compile\(\{optimizer, loss\}\)/);
    await expect(model.evaluate(zeros([2, 4]), zeros([2, 2]))).rejects.toThrow(/evaluate: the model must be compiled first/);
    await expect(model.trainOnBatch(zeros([2, 4]), zeros([2, 2]))).rejects.toThrow(/trainOnBatch: the model must be compiled first/);
  });

  test('compile after the model was built (by predict or getWeights) takes effect', async () => {
    const model = new Sequential([new InputLayer({ inputShape: [1] }), new Dense(1, { useBias: false })]);
    model.setWeights([[[2]]]);
    expect(values(await model.predict(tensor([[1]])))).toEqual([2]);
    model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'mse' });
    // mse of 2 against 0 is 4; the gradient 2 * 2 * 1 = 4 moves the weight to 2 - 0.4.
    expect(await model.trainOnBatch(tensor([[1]]), tensor([[0]]))).toBeCloseTo(4, 5);
    expectClose(values(model.getWeights()[0]), [1.6]);
  });

  test('compiling again with another loss takes effect', async () => {
    const model = new Sequential([new InputLayer({ inputShape: [1] }), new Dense(1, { useBias: false })]);
    model.compile({ optimizer: new SGD({ learningRate: 0 }), loss: 'mse' });
    model.setWeights([[[3]]]);
    expect(await model.evaluate(tensor([[1]]), tensor([[0]]), { verbose: 0 })).toBeCloseTo(9, 5);
    model.compile({ optimizer: new SGD({ learningRate: 0 }), loss: 'mae' });
    expect(await model.evaluate(tensor([[1]]), tensor([[0]]), { verbose: 0 })).toBeCloseTo(3, 5);
  });
});

describe('Sequential input checks', () => {
  test('fit with the wrong input shape names both shapes', async () => {
    const model = seedModel();
    model.compile({ optimizer: 'adam', loss: 'binary_crossentropy', metrics: ['accuracy'] });
    await expect(model.fit(zeros([32, 32, 32, 3]), zeros([32, 1]), { verbose: 0 })).rejects.toThrow(
      'fit: expected input of shape [*, 64, 64, 3] but received [32, 32, 32, 3]',
    );
    await expect(model.predict(zeros([2, 64, 64, 1]))).rejects.toThrow('predict: expected input of shape [*, 64, 64, 3] but received [2, 64, 64, 1]');
    await expect(model.evaluate(zeros([2, 64, 64]), zeros([2, 1]))).rejects.toThrow('evaluate: expected input of shape [*, 64, 64, 3] but received [2, 64, 64]');
  });

  test('x and y must have as many samples', async () => {
    const model = smallModel();
    model.compile({ optimizer: 'sgd', loss: 'categorical_crossentropy' });
    await expect(model.fit(zeros([4, 4]), zeros([3, 2]), { verbose: 0 })).rejects.toThrow(/fit: expected y with as many samples as x \(4\) but received shape \[3, 2\]/);
    await expect(model.fit(zeros([4, 4]), { epochs: 1 } as never)).rejects.toThrow(/fit: expected targets y after the inputs x \(or a data iterator as x\)/);
    await expect(model.fit(zeros([4, 4]), zeros([4, 2]), { epoch: 2 } as never)).rejects.toThrow(/fit: expected options among batchSize, epochs, .* but received "epoch"/);
    await expect(model.fit(zeros([4, 4]), zeros([4, 2]), { epochs: 0, verbose: 0 })).rejects.toThrow(/fit: expected epochs to be a positive integer but received 0/);
  });

  test('a model without an input shape builds from the first data it sees', async () => {
    const model = new Sequential([new Dense(2, { kernelInitializer: 'ones' })]);
    const y = await model.predict(tensor([[1, 2, 3]]));
    expect(values(y)).toEqual([6, 6]);
    expect(model.inputShape).toEqual([3]);
    await expect(model.predict(tensor([[1, 2]]))).rejects.toThrow('predict: expected input of shape [*, 3] but received [1, 2]');
  });

  test('flat typed arrays are reshaped to the input shape', async () => {
    const model = new Sequential([new Flatten({ inputShape: [2, 2] })]);
    const y = await model.predict(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(y.shape).toEqual([2, 4]);
    await expect(model.predict(new Float32Array(6))).rejects.toThrow(/predict: expected x with a multiple of 4 values \(samples of shape \[\*, 2, 2\]\) but received 6 values/);
  });
});

describe('Sequential predict / trainOnBatch / testOnBatch / evaluate', () => {
  test('predict in batches equals predictOnBatch on the whole', async () => {
    const model = smallModel();
    const x = randomTensor([10, 4], 1);
    const whole = await model.predictOnBatch(x);
    const batched = await model.predict(x, { batchSize: 3 });
    expect(batched.shape).toEqual([10, 2]);
    expectClose(values(batched), values(whole), 1e-6);
    // softmax rows sum to 1
    const v = values(whole);
    for (let i = 0; i < 10; i++) expect(v[2 * i] + v[2 * i + 1]).toBeCloseTo(1, 6);
  });

  test('trainOnBatch and testOnBatch return the loss, or [loss, ...metrics]', async () => {
    const model = new Sequential([new InputLayer({ inputShape: [2] }), new Dense(1, { activation: 'sigmoid' })]);
    model.compile({ optimizer: new SGD({ learningRate: 0.5 }), loss: 'binary_crossentropy', metrics: ['accuracy'] });
    model.setWeights([[[1], [-1]], [0]]);
    const x = tensor([[2, 0], [0, 2], [1, 0], [0, 1]]);
    const y = tensor([[1], [0], [0], [1]]);
    const z = [2, -2, 1, -1];
    const labels = [1, 0, 0, 1];
    const bce = z.reduce((a, v, i) => a + Math.max(v, 0) - v * labels[i] + Math.log1p(Math.exp(-Math.abs(v))), 0) / 4;
    const tested = (await model.testOnBatch(x, y)) as number[];
    expect(tested).toHaveLength(2);
    expect(tested[0]).toBeCloseTo(bce, 5);
    expect(tested[1]).toBeCloseTo(0.5, 6);
    const trained = (await model.trainOnBatch(x, y)) as number[];
    expect(trained[0]).toBeCloseTo(bce, 5);
    expect(trained[1]).toBeCloseTo(0.5, 6);
    // The step reduced the loss.
    expect(((await model.testOnBatch(x, y)) as number[])[0]).toBeLessThan(bce);
    const plain = new Sequential([new InputLayer({ inputShape: [2] }), new Dense(1)]);
    plain.compile({ optimizer: 'sgd', loss: 'mse' });
    expect(typeof (await plain.trainOnBatch(x, y))).toBe('number');
  });

  test('trainOnBatch on a model without trainable weights still reports the loss', async () => {
    const model = new Sequential([new InputLayer({ inputShape: [2] }), new Activation('relu')]);
    model.compile({ optimizer: 'adam', loss: 'mse' });
    expect(await model.trainOnBatch(tensor([[1, -1]]), tensor([[0, 0]]))).toBeCloseTo(0.5, 6);
  });

  test('evaluate returns [loss, accuracy] averaged over samples across batches, or a dict', async () => {
    const model = new Sequential([new InputLayer({ inputShape: [1] }), new Dense(1, { useBias: false, activation: 'sigmoid' })]);
    model.compile({ optimizer: 'adam', loss: 'binary_crossentropy', metrics: ['accuracy'] });
    model.setWeights([[[1]]]);
    // logits = x; 5 samples, batch 2 -> batches of 2, 2, 1: the mean must weight by batch size.
    const logits = [3, -1, 2, -2, 0.5];
    const labels = [1, 1, 0, 0, 1];
    const perSample = logits.map((z, i) => Math.max(z, 0) - z * labels[i] + Math.log1p(Math.exp(-Math.abs(z))));
    const result = (await model.evaluate(tensor(logits.map((v) => [v])), tensor(labels.map((v) => [v])), { batchSize: 2, verbose: 0 })) as number[];
    expect(result[0]).toBeCloseTo(perSample.reduce((a, b) => a + b) / 5, 5);
    expect(result[1]).toBeCloseTo(3 / 5, 6);
    const dict = await model.evaluate(tensor(logits.map((v) => [v])), tensor(labels.map((v) => [v])), { verbose: 0, returnDict: true });
    expect(Object.keys(dict)).toEqual(['loss', 'accuracy']);
  });
});

describe('Sequential weights', () => {
  test('getWeights / setWeights round trip in Keras layouts', async () => {
    const model = new Sequential([new Conv2D(2, 2, { inputShape: [3, 3, 1] }), new Flatten(), new Dense(1)]);
    const weights = model.getWeights();
    expect(weights.map((w) => [...w.shape])).toEqual([[2, 2, 1, 2], [2], [8, 1], [1]]);
    const replaced = weights.map((w, i) => tensor(Float32Array.from(values(w), (_, j) => i + j / 10), [...w.shape]));
    model.setWeights(replaced);
    expect(model.getWeights()).toHaveLength(replaced.length);
    model.getWeights().forEach((w, i) => expectClose(values(w), values(replaced[i]), 1e-6));
    // Another model with the same weights predicts the same.
    const copy = new Sequential([new Conv2D(2, 2, { inputShape: [3, 3, 1] }), new Flatten(), new Dense(1)]);
    copy.setWeights(model.getWeights());
    const x = randomTensor([2, 3, 3, 1], 5);
    expectClose(values(await copy.predict(x)), values(await model.predict(x)), 1e-6);
  });

  test('setWeights with wrong shapes or count is an error that leaves the weights unchanged', () => {
    const model = seedModel();
    const before = values(model.getWeights()[1]);
    const weights = model.getWeights();
    expect(() => model.setWeights([zeros([3, 3, 32, 3]), ...weights.slice(1)])).toThrow(
      /setWeights: expected weights\[0\] \(kernel\) of shape \[3, 3, 3, 32\] but received shape \[3, 3, 32, 3\]/,
    );
    expect(() => model.setWeights(weights.slice(0, 2))).toThrow(/setWeights: expected 6 weight tensors but received 2 tensors/);
    expect(values(model.getWeights()[1])).toEqual(before);
  });
});
