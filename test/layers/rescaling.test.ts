import { Rescaling, tensor } from '../../lib';
import { expectClose, values } from '../helpers';
import { describeLayer, fixedModel } from './harness';

describeLayer('Rescaling', {
  shapes: [
    { title: '1/255 on images', make: () => new Rescaling(1 / 255), inputShape: [8, 8, 3], outputShape: [8, 8, 3], params: 0, weightShapes: [] },
    { title: 'scale and offset', make: () => new Rescaling({ scale: 2, offset: -1 }), inputShape: [4], outputShape: [4], params: 0, weightShapes: [] },
  ],
  badOptions: [
    { title: 'scale NaN', make: () => new Rescaling(NaN), error: /Rescaling 'rescaling(_\d+)?': expected scale to be a finite number but received NaN/ },
    { title: 'no scale', make: () => new Rescaling({}), error: /expected scale to be a finite number but received undefined/ },
    { title: 'offset string', make: () => new Rescaling(1, { offset: '1' as unknown as number }), error: /expected offset to be a finite number but received "1"/ },
  ],
});

describe('Rescaling numerics', () => {
  test('x * scale + offset', async () => {
    const y = await fixedModel([3], [new Rescaling(1 / 127.5, { offset: -1 })]).predict(tensor([[0, 127.5, 255]]));
    expectClose(values(y), [-1, 0, 1]);
  });

  test('uint8 pixels are rescaled as floats', async () => {
    const pixels = tensor(new Uint8Array([0, 51, 255, 128]), [1, 2, 2, 1]);
    const y = await fixedModel([2, 2, 1], [new Rescaling(1 / 255)]).predict(pixels);
    expect(y.dtype).toBe('float32');
    expectClose(values(y), [0, 0.2, 1, 128 / 255]);
  });
});
