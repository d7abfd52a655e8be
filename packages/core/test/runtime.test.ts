import {
  DeviceUnavailableError,
  GraphBuilder,
  InvalidInputError,
  InvalidOptionError,
  Runtime,
  ShapeError,
  Tensor,
  UnknownOptionError,
  availableDevices,
  disposeSharedRuntimes,
  executionProviders,
  getRuntime,
  resolveDevice,
  serializeModel,
} from '@dc/core';

function doubler(): GraphBuilder {
  const g = new GraphBuilder({ name: 'doubler' });
  const x = g.input('x', 'float32', ['n', 2]);
  g.output(g.op('Mul', [x, 2]), 'y');
  return g;
}

afterAll(() => disposeSharedRuntimes());

describe('device resolution', () => {
  it('always has the CPU and resolves auto to a working device, saying why others were skipped', async () => {
    expect(await availableDevices()).toContain('cpu');
    const { device, attempts } = await resolveDevice('auto');
    // auto never picks WebGPU (measured slower than the CPU here): CUDA when it works, else the CPU.
    expect(['cpu', 'cuda']).toContain(device);
    for (const a of attempts) {
      expect(a.device).toBe('cuda');
      expect(a.reason.length).toBeGreaterThan(0);
    }
    expect(device === 'cpu').toBe(!(await availableDevices()).includes('cuda'));
    expect((await resolveDevice('cpu')).device).toBe('cpu');
  });

  it('names what was tried when a named device is missing', async () => {
    const available = await availableDevices();
    const missing = (['cuda', 'webgpu'] as const).find((d) => !available.includes(d));
    if (!missing) return; // a machine with both GPUs providers working has nothing to test here
    const err = await resolveDevice(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceUnavailableError);
    expect((err as DeviceUnavailableError).attempts[0]!.device).toBe(missing);
    expect((err as DeviceUnavailableError).message).toContain(`Device '${missing}' is not available`);
  });

  it('maps devices to provider lists with a CPU fallback for unsupported ops', () => {
    expect(executionProviders('cpu')).toEqual(['cpu']);
    expect(executionProviders('cuda')).toEqual(['cuda', 'cpu']);
    expect(executionProviders('webgpu')).toEqual(['webgpu', 'cpu']);
  });
});

describe('Runtime', () => {
  it('validates its options', async () => {
    await expect(Runtime.create({ device: 'tpu' as 'cpu' })).rejects.toThrow(InvalidOptionError);
    await expect(Runtime.create({ threads: -1 })).rejects.toThrow(InvalidOptionError);
    await expect(Runtime.create({ thread: 1 } as never)).rejects.toThrow(UnknownOptionError);
  });

  it('reports the device it chose', async () => {
    const seen: string[] = [];
    const rt = await Runtime.create({ device: 'cpu', threads: 1, onDevice: (d) => seen.push(d) });
    expect(rt.device).toBe('cpu');
    expect(seen).toEqual(['cpu']);
    await rt.dispose();
  });

  it('compiles each model once per key and runs it', async () => {
    const rt = await Runtime.create({ device: 'cpu', threads: 1 });
    let builds = 0;
    const make = () => {
      builds++;
      return doubler();
    };
    const s1 = await rt.sessionFor('doubler', make);
    const s2 = await rt.sessionFor('doubler', make);
    expect(s1).toBe(s2);
    expect(builds).toBe(1);
    expect(rt.has('doubler')).toBe(true);
    // identical bytes without a key share a session through the content hash
    const bytes = serializeModel(doubler().toModel());
    expect(await rt.session(bytes)).toBe(await rt.session(bytes.slice()));
    expect(s1.inputNames).toEqual(['x']);
    expect(s1.outputNames).toEqual(['y']);
    const out = await s1.run({ x: Tensor.fromArray([[1, 2], [3, 4], [5, 6]]) });
    expect(out.y!.toArray()).toEqual([[2, 4], [6, 8], [10, 12]]);
    await rt.dispose();
    expect(() => rt.sessionFor('x', make)).toThrow(/disposed/);
  });

  it('releases the sessions under a key prefix and keeps the others', async () => {
    const rt = await Runtime.create({ device: 'cpu', threads: 1 });
    const a = await rt.sessionFor('model:1:eval:8', doubler);
    await rt.sessionFor('model:1:eval:16', doubler);
    await rt.sessionFor('model:2:eval:8', doubler);
    expect(await rt.releaseMatching('model:1:')).toBe(2);
    expect([rt.has('model:1:eval:8'), rt.has('model:1:eval:16'), rt.has('model:2:eval:8')]).toEqual([false, false, true]);
    await expect(a.run({ x: Tensor.zeros([1, 2]) })).rejects.toThrow(/released/);
    expect(await rt.releaseMatching('model:1:')).toBe(0);
    // a released key compiles again on demand
    expect(await rt.sessionFor('model:1:eval:8', doubler)).not.toBe(a);
    await rt.dispose();
  });

  it('checks feeds before ONNX Runtime sees them', async () => {
    const rt = await Runtime.create({ device: 'cpu', threads: 1 });
    const s = await rt.sessionFor('doubler', doubler);
    await expect(s.run({})).rejects.toThrow(InvalidInputError);
    await expect(s.run({ x: Tensor.zeros([2, 3]) })).rejects.toThrow(ShapeError);
    await expect(s.run({ x: Tensor.zeros([2, 2], 'float64') })).rejects.toThrow(/must be float32/);
    await expect(s.run({ x: Tensor.zeros([2, 2]), z: Tensor.zeros([1]) })).rejects.toThrow(/no input 'z'/);
    await s.release();
    await expect(s.run({ x: Tensor.zeros([1, 2]) })).rejects.toThrow(/released/);
    expect(rt.has('doubler')).toBe(false);
    await rt.dispose();
  });

  it('reads IO specs from raw model bytes', async () => {
    const rt = await Runtime.create({ device: 'cpu', threads: 1 });
    const s = await rt.session(serializeModel(doubler().toModel()));
    expect(s.inputs[0]).toMatchObject({ name: 'x', dtype: 'float32' });
    const out = await s.run({ x: Tensor.fromArray([[1, 1]]) });
    expect(out.y!.toArray()).toEqual([[2, 2]]);
    await rt.dispose();
  });

  it('shares one runtime per device and thread count', async () => {
    const a = await getRuntime({ device: 'cpu', threads: 1 });
    const b = await getRuntime({ device: 'cpu', threads: 1 });
    expect(a).toBe(b);
    expect(await getRuntime({ device: 'cpu', threads: 2 })).not.toBe(a);
  });
});
